/**
 * Prompting in VR: the prompt (and a switchable negative prompt), the virtual keyboard, settings
 * (preset, steps, guidance, feature cache, random or fixed seed), Generate / Cancel, progress, and push-to-talk on the
 * panel and on a controller button (A or X). The transcript replaces the active field, to be
 * confirmed or edited before generating; nothing here starts a generation by itself.
 *
 * Progress never goes through React: a store subscription writes the bar and the label with
 * uikit's setProperties, at most PROGRESS_MIN_MS apart (the last line always lands).
 */
import { useFrame } from '@react-three/fiber';
import { Container, Text, type VanillaContainer, type VanillaText } from '@react-three/uikit';
import { useXRInputSourceState } from '@react-three/xr';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { usePushToTalk, type PushToTalkControls } from '../../speech/usePushToTalk';
import type { GenerationStore } from '../../state/generation';
import { vrText } from './vr-font';
import { VRButton } from './VRButton';
import { VRDownloadNotice, VRHostQuestion } from './VRAskFirst';
import { VR_NO_WRAP_REASON, VR_WRAP_LABEL, wrapControl } from '../generate/wrap-control';
import { promptTemplateControl } from '../generate/prompt-template-control';
import { VRKeyboard } from './VRKeyboard';
import { registerVRElement, vrDebug } from './vr-debug';
import { stepGuidance, stepSteps, talkLabel, vrDeepCacheButtons, vrPresetButtons, vrPresetLine } from './prompt-settings';
import { subscribeThrottled } from './throttled';

export interface VRPromptSectionProps {
  readonly store: GenerationStore;
}

/** Progress labels change at most this often (a diffusion step can take a few ms on tiny models). */
export const PROGRESS_MIN_MS = 200;
/** xr-standard gamepad mapping: buttons[4] is A (right) / X (left) on Quest controllers. */
const TALK_BUTTON_INDEX = 4;

type Field = 'prompt' | 'negativePrompt';

/** Polls the A/X buttons each frame and turns their edges into press/release. */
function useControllerTalk(ptt: PushToTalkControls, enabled: boolean): void {
  const left = useXRInputSourceState('controller', 'left');
  const right = useXRInputSourceState('controller', 'right');
  const held = useRef(false);
  const controls = useRef(ptt);
  controls.current = ptt;
  useFrame(() => {
    const down =
      enabled &&
      (left?.inputSource.gamepad?.buttons[TALK_BUTTON_INDEX]?.pressed === true ||
        right?.inputSource.gamepad?.buttons[TALK_BUTTON_INDEX]?.pressed === true);
    if (down === held.current) return;
    held.current = down;
    if (down) controls.current.press();
    else controls.current.release();
  });
}

export function VRPromptSection({ store }: VRPromptSectionProps): ReactNode {
  const status = useStore(store, (s) => s.status);
  const settings = useStore(store, (s) => s.settings);
  const error = useStore(store, (s) => s.error?.message ?? null);
  const notices = useStore(store, (s) => s.notices);
  const confirm = useStore(store, (s) => s.awaitingConfirmation);
  const askHost = useStore(store, (s) => s.awaitingHost);
  const model = useStore(store, (s) => s.model);
  const plan = useStore(store, (s) => s.plan);
  const [field, setField] = useState<Field>('prompt');
  const bar = useRef<VanillaContainer>(null);
  const label = useRef<VanillaText>(null);
  // The e2e test checks the field is in view when the panel appears (vr-debug.ts).
  const registerPromptField = useCallback((el: VanillaContainer | null) => (el ? registerVRElement('prompt-field', el) : undefined), []);
  const running = status === 'planning' || status === 'loading' || status === 'generating' || status === 'cancelling';
  const ptt = usePushToTalk();
  useControllerTalk(ptt, !running);

  const update = store.getState().updateSettings;
  const text = field === 'prompt' ? settings.prompt : settings.negativePrompt;
  const onText = useCallback((t: string) => store.getState().updateSettings(field === 'prompt' ? { prompt: t } : { negativePrompt: t }), [store, field]);
  const generate = useCallback(() => void store.getState().generate({ confirmDownload: store.getState().awaitingConfirmation !== null }), [store]);
  const cancel = useCallback(() => store.getState().cancel(), [store]);

  // The transcript goes into the field being edited; the person confirms or edits it.
  useEffect(() => {
    if (ptt.state.status !== 'done') return;
    // As recognised (accents and all): the field holds the user's words; only drawing maps them to the font.
    const t = ptt.state.transcript.trim();
    if (t) onText(t);
    ptt.reset();
  }, [ptt, onText]);

  useEffect(() => {
    const debug = vrDebug();
    return subscribeThrottled(
      store,
      (s) => s.progress,
      (p) => {
        const line = vrText(p?.text ?? '');
        bar.current?.setProperties({ width: `${Math.round(Math.min(1, Math.max(0, p?.fraction ?? 0)) * 100)}%` });
        label.current?.setProperties({ text: line });
        if (line && debug.progressLog.at(-1) !== line) debug.progressLog.push(line);
      },
      PROGRESS_MIN_MS,
    );
  }, [store]);

  useEffect(() => {
    const debug = vrDebug();
    debug.panelMounted = true;
    debug.setField = setField;
    debug.generate = generate;
    debug.cancel = cancel;
    debug.setSteps = (n) => update({ steps: stepSteps(n, 0) });
    debug.choosePreset = (name) => store.getState().choosePreset(name);
    return () => {
      debug.panelMounted = false;
      debug.setField = debug.generate = debug.cancel = debug.setSteps = debug.choosePreset = null;
    };
  }, [generate, cancel, update, store]);
  const onPressByName = useCallback((press: ((name: string) => boolean) | null) => {
    vrDebug().pressKey = press;
  }, []);

  const shown = vrText(text);
  const talk = talkLabel(ptt.state);
  const cache = vrDeepCacheButtons(settings, model, running);
  const wrap = wrapControl(settings, model);
  const template = promptTemplateControl({ model, plan }, settings);
  return (
    <Container flexDirection="column" gap={8}>
      <Container flexDirection="row" gap={8} alignItems="center">
        <VRButton label="Prompt" selected={field === 'prompt'} onClick={() => setField('prompt')} />
        <VRButton label="Negative" selected={field === 'negativePrompt'} onClick={() => setField('negativePrompt')} />
        <Container flexGrow={1} />
        <VRButton
          label={talk.button}
          selected={ptt.state.status === 'listening'}
          disabled={running}
          onClick={() => undefined}
          onPointerDown={ptt.press}
          onPointerUp={ptt.release}
        />
      </Container>
      <Container ref={registerPromptField} backgroundColor="#0f1216" borderRadius={8} padding={10} minHeight={64} width="100%">
        <Text fontSize={20} color={shown ? '#ffffff' : '#7b8794'} wordBreak="break-word">
          {shown ? `${shown}_` : field === 'prompt' ? 'Type or hold Talk (A / X) to describe the scene' : 'What to avoid (optional)'}
        </Text>
      </Container>
      {template ? (
        // The model's prompt template (issue 14 item 10): what is sent, and the switch to turn it off.
        <Container flexDirection="row" gap={8} alignItems="center">
          <VRButton label={vrText(template.label)} selected={template.checked} disabled={running} onClick={() => update({ promptTemplate: !settings.promptTemplate })} />
          {template.sent !== null ? (
            <Text fontSize={14} color="#b8c2cc" flexShrink={1} wordBreak="break-word">
              {vrText(`Sent as: ${template.sent}`)}
            </Text>
          ) : null}
        </Container>
      ) : null}
      {talk.status ? (
        <Text fontSize={16} color={ptt.state.status === 'error' ? '#ff8a80' : '#9cc7ff'}>
          {vrText(talk.status)}
        </Text>
      ) : null}
      <VRKeyboard text={text} onText={onText} disabled={running} onPressByName={onPressByName} />
      <Container flexDirection="row" gap={8} alignItems="center">
        {vrPresetButtons(settings, running).map((b) => (
          <VRButton key={b.value} label={b.label} selected={b.selected} disabled={b.disabled} onClick={() => store.getState().choosePreset(b.value)} />
        ))}
        <Text fontSize={14} color="#b8c2cc">
          {vrPresetLine(settings)}
        </Text>
      </Container>
      <Container flexDirection="row" gap={8} alignItems="center" flexWrap="wrap">
        <VRButton label="Steps -" disabled={running || settings.steps <= 1} onClick={() => update({ steps: stepSteps(settings.steps, -1) })} />
        <Text fontSize={18} color="#ffffff">{`${settings.steps} steps`}</Text>
        <VRButton label="+" disabled={running} onClick={() => update({ steps: stepSteps(settings.steps, 1) })} />
        <VRButton label="Guidance -" disabled={running} onClick={() => update({ guidance: stepGuidance(settings.guidance, -1) })} />
        <Text fontSize={18} color="#ffffff">{settings.guidance.toFixed(1)}</Text>
        <VRButton label="+" disabled={running} onClick={() => update({ guidance: stepGuidance(settings.guidance, 1) })} />
      </Container>
      <Container flexDirection="row" gap={8} alignItems="center">
        {cache.buttons.map((b) => (
          <VRButton key={b.value} label={b.label} selected={b.selected} disabled={b.disabled} onClick={() => update({ deepCacheInterval: b.value })} />
        ))}
        {cache.reason !== null ? (
          <Text fontSize={13} color="#ffd28a" flexShrink={1}>
            {cache.reason}
          </Text>
        ) : null}
        {/* In the cache row, not a row of its own: the panel keeps the view ahead clear. */}
        <VRButton label={VR_WRAP_LABEL} selected={wrap.checked} disabled={running || !wrap.enabled} onClick={() => update({ wrap: !settings.wrap })} />
        {wrap.reason !== null ? (
          <Text fontSize={13} color="#ffd28a" flexShrink={1}>
            {VR_NO_WRAP_REASON}
          </Text>
        ) : null}
      </Container>
      <Container flexDirection="row" gap={8} alignItems="center">
        <VRButton label="Random seed" selected={settings.randomSeed} disabled={running} onClick={() => update({ randomSeed: true })} />
        <VRButton label="Fixed seed" selected={!settings.randomSeed} disabled={running} onClick={() => update({ randomSeed: false })} />
        <Text fontSize={18} color="#b8c2cc">{settings.randomSeed ? `last ${settings.seed}` : String(settings.seed)}</Text>
      </Container>
      <VRDownloadNotice confirm={confirm} />
      <VRHostQuestion host={askHost} onAnswer={(allow) => store.getState().answerHost(allow)} />
      <Container flexDirection="row" gap={8}>
        <VRButton
          name="generate"
          label={confirm ? 'Download and generate' : status === 'generating' ? 'Generating...' : status === 'loading' ? 'Loading...' : 'Generate'}
          disabled={running}
          flexGrow={1}
          onClick={generate}
        />
        <VRButton name="generate-cancel" label={status === 'cancelling' ? 'Cancelling...' : 'Cancel'} disabled={!running || status === 'cancelling'} onClick={cancel} />
      </Container>
      <Container flexDirection="column" gap={4} display={running ? 'flex' : 'none'}>
        <Container width="100%" height={10} backgroundColor="#0f1216" borderRadius={5}>
          <Container ref={bar} width="0%" height="100%" backgroundColor="#1f6fd1" borderRadius={5} />
        </Container>
        <Text ref={label} fontSize={16} color="#b8c2cc">
          {''}
        </Text>
      </Container>
      {error !== null ? (
        <Text fontSize={16} color="#ff8a80">
          {vrText(error)}
        </Text>
      ) : null}
      {notices.map((n) => (
        <Text key={n} fontSize={14} color="#9cc7ff">
          {vrText(n)}
        </Text>
      ))}
    </Container>
  );
}
