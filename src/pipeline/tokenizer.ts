/**
 * CLIP tokenization as diffusers does it: padding="max_length", max_length=77, truncation=True.
 *
 * Uses @huggingface/tokenizers, the tokenizer library inside @huggingface/transformers (its
 * PreTrainedTokenizer wraps this same Tokenizer class), loaded from the model's own tokenizer.json
 * and tokenizer_config.json bytes: no network, and no onnxruntime pulled into the bundle.
 *
 *   const tok = ClipTokenizer.fromFiles(tokenizerJson, tokenizerConfigJson, 77);
 *   const { ids, length, truncated } = tok.encode('a beach at sunset');
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { PipelineError } from '../model/errors';

export interface Tokens {
  /** Exactly maxLength ids: BOS, tokens, EOS, then PAD. */
  readonly ids: BigInt64Array;
  /** Tokens before truncation, BOS and EOS included (what the user's prompt needs). */
  readonly length: number;
  /** True when `length` > maxLength, i.e. the end of the prompt was dropped. */
  readonly truncated: boolean;
}

export class ClipTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    readonly padId: number,
  ) {}

  /**
   * @param tokenizerJson bytes of tokenizer/tokenizer.json
   * @param configJson bytes of tokenizer/tokenizer_config.json (names the pad token)
   */
  static fromFiles(tokenizerJson: Uint8Array, configJson: Uint8Array, maxLength: number, files = { tokenizer: 'tokenizer/tokenizer.json', config: 'tokenizer/tokenizer_config.json' }): ClipTokenizer {
    const parse = (bytes: Uint8Array, file: string): Record<string, unknown> => {
      try {
        return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
      } catch (e) {
        throw new PipelineError('model-file', `${file}: not valid JSON (${(e as Error).message})`, { file, cause: e });
      }
    };
    const json = parse(tokenizerJson, files.tokenizer);
    const config = parse(configJson, files.config);
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(json, config);
    } catch (e) {
      throw new PipelineError('model-file', `${files.tokenizer}: not a tokenizer this app can load (${(e as Error).message})`, { file: files.tokenizer, cause: e });
    }
    const padToken = tokenName(config.pad_token) ?? tokenName(config.eos_token);
    const padId = padToken === undefined ? undefined : tokenizer.token_to_id(padToken);
    if (padId === undefined) {
      throw new PipelineError('model-file', `${files.config}: its pad_token ${JSON.stringify(config.pad_token)} is not in the vocabulary`, { file: files.config });
    }
    return new ClipTokenizer(tokenizer, maxLength, padId);
  }

  encode(text: string): Tokens {
    // With special tokens: the post-processor of tokenizer.json adds BOS and EOS (RobertaProcessing for CLIP).
    const full = this.tokenizer.encode(text, { add_special_tokens: true }).ids;
    const length = full.length;
    const ids = new BigInt64Array(this.maxLength).fill(BigInt(this.padId));
    // transformers' truncation removes tokens from the text, never the special tokens: keep BOS,
    // the first maxLength − 2 tokens and EOS.
    const kept = length > this.maxLength ? [...full.slice(0, this.maxLength - 1), full[length - 1]] : full;
    for (let i = 0; i < kept.length; i++) ids[i] = BigInt(kept[i]);
    return { ids, length, truncated: length > this.maxLength };
  }
}

function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}
