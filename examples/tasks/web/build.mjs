// Bundles the page's script (src/main.ts, the generated TypeScript client
// in ../clients/generated/typescript and the centrifuge SDK) into
// dist/app.js. The tasks server embeds it, with index.html and style.css,
// at compile time; dist/ is committed so that `cargo run` works on a machine
// without npm, and check.sh proves it is current.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
mkdirSync(path.join(here, 'dist'), { recursive: true });
await build({
  entryPoints: [path.join(here, 'src/main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  legalComments: 'eof',
  // The generated client imports `centrifuge`; it resolves from here.
  nodePaths: [path.join(here, 'node_modules')],
  outfile: path.join(here, 'dist/app.js'),
  logLevel: 'warning',
});
console.log('built dist/app.js');
