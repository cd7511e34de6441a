// Bundles the page (src/main.ts, the generated TypeScript client in
// ../clients/generated/typescript and the centrifuge SDK) into dist/app.js,
// and copies index.html and style.css beside it. The tasks server embeds
// dist/ at compile time; dist/ is committed so that `cargo run` works on a
// machine without npm, and test.sh checks it is current.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
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
for (const file of ['index.html', 'style.css']) {
  copyFileSync(path.join(here, file), path.join(here, 'dist', file));
}
console.log('built dist/app.js, dist/index.html, dist/style.css');
