// The conformance suite: every case of test/conformance/cases.ts against `bootcfg serve` and
// against a real nginx running the generated block, over the same dist tree. Each server must
// give the expected answer, and the two must agree; a failure lists every differing case.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBootcfg } from './conformance/bootcfg.js';
import { CASES, IMAGES, TREES } from './conformance/cases.js';
import { makeSite, publish, type Site } from './conformance/fixture.js';
import { nginxSkipReason, startNginx } from './conformance/nginx.js';
import { ask, disagreements, report, type Answers } from './conformance/run.js';

const nginxSkip = nginxSkipReason();

for (const tree of Object.keys(TREES) as (keyof typeof TREES)[]) {
  describe(`conformance, ${tree} tree`, () => {
    const cases = CASES.filter((c) => c.tree === tree);
    let site: Site;
    let nginxAnswers: Answers | undefined;
    let nodeAnswers: Answers | undefined;

    before(async () => {
      site = await makeSite(IMAGES);
      await publish(site.distPath, tree, TREES[tree]);
    });
    after(() => site.remove());

    test(`nginx answers all ${cases.length} cases as docs/http.md says`, { skip: nginxSkip }, async () => {
      const nginx = await startNginx(site);
      try {
        nginxAnswers = await ask(nginx.url, cases);
      } finally {
        await nginx.stop();
      }
      assert.deepEqual(report('nginx', cases, nginxAnswers), []);
    });

    test(`bootcfg serve answers all ${cases.length} cases as docs/http.md says`, async () => {
      const server = await startBootcfg(site);
      try {
        nodeAnswers = await ask(server.url, cases);
      } finally {
        await server.stop();
      }
      assert.deepEqual(report('bootcfg serve', cases, nodeAnswers), []);
    });

    test('both servers give the same status, body and content type', { skip: nginxSkip }, () => {
      assert.ok(nginxAnswers && nodeAnswers, 'both servers must have answered (see the tests above)');
      assert.deepEqual(disagreements(cases, nodeAnswers, nginxAnswers, ['bootcfg serve', 'nginx']), []);
    });
  });
}
