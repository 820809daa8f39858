/**
 * Makes the VR panels' MSDF font (issue 13 item 10): public/fonts/inter-latin1-400.{json,png} and
 * the licence beside them, from Inter 400 (@fontsource/inter's latin subset, SIL OFL 1.1) and the
 * charset in src/ui/vr/vr-font.ts. Run it only when that charset changes; the output is committed,
 * so neither the app nor CI needs these tools.
 *
 * The tools are not project dependencies (they are needed once, and msdf-bmfont-xml pulls in an
 * image library): install them anywhere, then point --tools at that folder.
 *
 *   npm install --prefix /tmp/msdf-tools msdf-bmfont-xml@2.5.4 maxrects-packer@2.7.3 @fontsource/inter@5.3.0
 *   npx tsx scripts/make-vr-font.ts --tools /tmp/msdf-tools
 *
 * Pinned because: msdf-bmfont-xml 2.8's msdfgen binary needs glibc 2.38 (2.5.4's runs on older
 * systems), and maxrects-packer 2.7.4 ships an ESM build that msdf-bmfont-xml's require() cannot load.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { VR_FONT_CHARSET } from '../src/ui/vr/vr-font';

const { values } = parseArgs({ options: { tools: { type: 'string' }, out: { type: 'string', default: 'public/fonts' } } });
if (!values.tools) {
  process.stderr.write('usage: npx tsx scripts/make-vr-font.ts --tools DIR [--out public/fonts]\n');
  process.exit(2);
}
const tools = resolve(values.tools, 'node_modules');
const require = createRequire(join(tools, 'noop.js'));
type Texture = { filename: string; texture: Buffer };
const generateBMFont = require('msdf-bmfont-xml') as (
  font: Buffer,
  opt: Record<string, unknown>,
  cb: (err: Error | null, textures: Texture[], font: { filename: string; data: string }) => void,
) => void;
const { readFileSync } = require('node:fs') as typeof import('node:fs');
const NAME = 'inter-latin1-400';
const fontFile = join(tools, '@fontsource/inter/files/inter-latin-400-normal.woff');
const out = resolve(values.out);
mkdirSync(out, { recursive: true });

// Size 44 and distance range 4 as uikit's own Inter atlases (@pmndrs/msdfonts), so text looks the same.
generateBMFont(
  readFileSync(fontFile),
  { outputType: 'json', fontSize: 44, distanceRange: 4, textureSize: [512, 512], charset: VR_FONT_CHARSET, filename: NAME, pot: true, smartSize: true },
  (err, textures, font) => {
    if (err) throw err;
    if (textures.length !== 1) throw new Error(`uikit needs exactly one atlas page, got ${textures.length}: raise textureSize`);
    writeFileSync(join(out, `${NAME}.png`), textures[0]!.texture);
    const json = JSON.parse(font.data) as { pages: string[]; info: Record<string, unknown> };
    json.pages = [`${NAME}.png`];
    // The charset is in vr-font.ts; the glyph list is what matters to uikit.
    delete json.info.charset;
    writeFileSync(join(out, `${NAME}.json`), JSON.stringify(json) + '\n');
    copyFileSync(join(tools, '@fontsource/inter/LICENSE'), join(out, 'Inter-LICENSE.txt'));
    process.stderr.write(`wrote ${join(out, NAME)}.json and .png (${VR_FONT_CHARSET.length} characters) and Inter-LICENSE.txt\n`);
  },
);
