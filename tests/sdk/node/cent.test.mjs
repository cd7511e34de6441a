// End-to-end tests of wirecall's HTTP server API with the npm `cent.js` client (6.x,
// third-party), unchanged. Run with `node --test cent.test.mjs`.
//
// Each test starts its own sdk-fixture process (helpers.mjs; the HTTP API is on the
// same port under /api, `fx.apiUrl`) and talks to it with cent.js only. cent.js never
// looks at the HTTP status (protocol.md §10.4): an answer with an `error` object throws
// a CentException, a 401 with its empty body fails in res.json() with a SyntaxError.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CentClient, CentException } from 'cent.js';
import { NEWS, within, withFixture } from './helpers.mjs';

const API_KEY = 'sdk-test-api-key';

test('cent.js publishes and reads the publication back from history', () => withFixture(async ({ apiUrl: url }) => {
  const cent = new CentClient({ url, apiKey: API_KEY });
  const data = { headline: 'from cent.js', list: [1, 'two'], text: 'héllo ✓' };

  const published = await within(cent.publish({ channel: NEWS, data, tags: { k: 'v' } }), 'publish');
  assert.equal(published.offset, 1);
  assert.ok(published.epoch);

  const history = await within(cent.getHistory({ channel: NEWS, limit: 10 }), 'history');
  assert.deepEqual(history, {
    publications: [{ data, offset: 1, tags: { k: 'v' } }],
    offset: 1,
    epoch: published.epoch,
  });
}));

test('cent.js: an API error throws CentException; a wrong key publishes nothing', () => withFixture(async ({ apiUrl: url }) => {
  const cent = new CentClient({ url, apiKey: API_KEY });

  await assert.rejects(within(cent.publish({ channel: 'nope:x', data: { x: 1 } }), 'publish to nope:x'), (e) => {
    assert.ok(e instanceof CentException);
    return true;
  });

  // 401 with an empty body: cent.js's res.json() rejects with a SyntaxError.
  const wrong = new CentClient({ url, apiKey: 'wrong-key' });
  await assert.rejects(within(wrong.publish({ channel: NEWS, data: { x: 1 } }), 'unauthorized publish'), SyntaxError);

  const history = await within(cent.getHistory({ channel: NEWS, limit: 10 }), 'history');
  assert.deepEqual(history.publications, []);
  assert.equal(history.offset, 0);
}));
