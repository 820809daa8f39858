// Unit tests run WebGPU in Node through Dawn (npm "webgpu"). On machines without a GPU Dawn needs a
// Vulkan driver: SwiftShader's ICD ships with Debian's chromium package. Set before Dawn loads.
import { existsSync } from 'node:fs';

const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(swiftshader)) {
  process.env.VK_ICD_FILENAMES = swiftshader;
}
