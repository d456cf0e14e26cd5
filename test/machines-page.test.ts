// The /-/machines page in a real headless Chromium (Debian's, driven by puppeteer-core):
// `bootcfg serve --admin-address` over a build of 10,000 machines and a generated day of their
// access log with install loops and unknown MACs. The page loads, shows the flags at the top,
// filters, sorts, shows one machine's compiled answers, and reads on a phone. It is off unless
// enabled, and a token guards it. Skips without Chromium, except under CI=true.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { build } from '../src/build/build.js';
import { ROOT, get, startServe, tempDir } from './helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
const skip = CHROMIUM || process.env.CI === 'true' ? false : 'no chromium (make browser-deps)';

const MACHINES = 10_000;
const LOOPING = 7;
const UNKNOWN = 12;
const START = Date.parse('2026-12-01T06:00:00Z');

function mac(i: number): string {
  return `52-54-00-${[i >> 16, (i >> 8) & 255, i & 255].map((n) => n.toString(16).padStart(2, '0')).join('-')}`;
}

/** A data directory: every machine by MAC, a default for everyone else, cloud configs for all. */
async function fleetData(root: string): Promise<string> {
  const data = join(root, 'data');
  await mkdir(join(data, 'boot/mac'), { recursive: true });
  await mkdir(join(data, 'cloud'), { recursive: true });
  const boot = (version: string) => `${JSON.stringify({ kernel: `/images/flatcar/${version}/flatcar_production_pxe.vmlinuz`, initrd: [`/images/flatcar/${version}/flatcar_production_pxe_image.cpio.gz`], args: ['console=ttyS0', 'flatcar.first_boot=1'] })}\n`;
  await writeFile(join(data, 'boot/default'), boot('current'));
  await writeFile(join(data, 'cloud/default'), '#cloud-config\nhostname: fleet\n');
  for (let i = 0; i < MACHINES; i += 500) {
    await Promise.all(Array.from({ length: 500 }, (_, n) => writeFile(join(data, 'boot/mac', mac(i + n)), boot(i + n < 6000 ? '4081.2.0' : '4152.0.0'))));
  }
  return data;
}

/** A day of serve's JSON access log: every machine chains, boots and fetches its cloud config. */
function fleetLog(revision: string): string {
  const lines: string[] = [];
  const line = (time: number, path: string, file: string, client: string) => lines.push(JSON.stringify({ time: new Date(time).toISOString(), client, method: 'GET', path, status: 200, answer: file === 'boot.ipxe' ? 'chain' : file.split('/')[1], file, revision, ms: 0.4 }));
  for (let i = 0; i < MACHINES; i++) {
    const at = START + i * 2000;
    const client = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    line(at, '/boot.ipxe', 'boot.ipxe', client);
    line(at + 100, `/ipxe?uuid=&mac=${mac(i)}&arch=x86_64`, `ipxe/mac/${mac(i)}`, client);
    // Machines that never get past their installer: they boot it again and again.
    const loops = i % Math.floor(MACHINES / LOOPING) === 1 && i / Math.floor(MACHINES / LOOPING) < LOOPING;
    if (loops) for (let n = 1; n <= 4; n++) line(at + n * 300_000, `/ipxe?uuid=&mac=${mac(i)}`, `ipxe/mac/${mac(i)}`, client);
    else line(at + 20_000, `/cloud?uuid=&mac=${mac(i)}`, 'cloud/default', client);
  }
  for (let i = 0; i < UNKNOWN; i++) {
    const stranger = `aa-bb-cc-00-00-${i.toString(16).padStart(2, '0')}`;
    line(START + i * 60_000, `/ipxe?mac=${stranger}`, 'ipxe/default', `192.168.7.${i}`);
    line(START + i * 60_000 + 30_000, `/cloud?mac=${stranger}`, 'cloud/default', `192.168.7.${i}`);
  }
  return `${lines.join('\n')}\n`;
}

let browser: Browser;
let admin: string;
let bootUrl: string;
let revision: string;

before(async () => {
  if (skip) return;
  const root = await tempDir();
  const distPath = join(root, 'dist');
  revision = (await build({ dataPath: await fleetData(root), distPath })).revision;
  const log = join(root, 'access.log');
  await writeFile(log, fleetLog(revision));
  await mkdir(join(root, 'images'));
  const serve = await startServe(['--dist-path', distPath, '--images-path', join(root, 'images'), '--admin-address', '127.0.0.1:0', '--access-log', log]);
  admin = /fleet view on (http:\/\/\S+)\/-\/machines/.exec(serve.stderr())![1]!;
  bootUrl = serve.url;
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});

after(async () => {
  await browser?.close();
});

async function open(path: string, width = 1280, height = 900): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  const response = await page.goto(`${admin}${path}`, { waitUntil: 'load', timeout: 120_000 });
  assert.equal(response?.status(), 200);
  return page;
}

const cells = (page: Page, table: string, col: string) => page.$$eval(`#${table} td[data-col="${col}"]`, (tds) => tds.map((td) => td.textContent!.trim()));

test('the page loads and shows the install loops and unknown machines at the top', { skip }, async () => {
  const page = await open('/-/machines');
  assert.match(await page.title(), new RegExp(revision));
  const flags = await page.$eval('.flags', (el) => el.textContent!.replace(/\s+/g, ' '));
  assert.match(flags, new RegExp(`${LOOPING} in an install loop \\(the same boot answer 3 times within 30 min\\)`));
  assert.match(flags, new RegExp(`${UNKNOWN} unknown`));
  assert.match(flags, new RegExp(`${LOOPING} booted but never fetched their OS config`));
  // The flags come before the tables, so they are what a reader meets first.
  const order = await page.$$eval('main > *', (els) => els.map((el) => el.id || el.className || el.tagName));
  assert.ok(order.indexOf('flags') < order.indexOf('FORM'), order.join());
  const heading = await page.$eval('#machines-title', (el) => el.textContent);
  assert.equal(heading, `Machines seen (${MACHINES + UNKNOWN})`);
  if (process.env.BOOTCFG_SCREENSHOT) {
    const shot = await open(`/-/machines?sort=boots&dir=desc&machine=mac:${mac(1)}`, 1100, 1150);
    await shot.screenshot({ path: join(ROOT, process.env.BOOTCFG_SCREENSHOT) });
  }
  await page.close();
});

test('the filter box narrows both tables to one machine', { skip }, async () => {
  const page = await open('/-/machines');
  await page.type('#q', mac(4321).replace(/-/g, '-'));
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  assert.deepEqual(await cells(page, 'machines', 'machine'), [`mac:${mac(4321)}`]);
  assert.deepEqual(await cells(page, 'entries', 'selector'), [`mac/${mac(4321)}`]);
  // A flag word filters too: every unknown machine, and nothing else.
  await page.goto(`${admin}/-/machines?q=unknown`);
  assert.equal((await cells(page, 'machines', 'machine')).length, UNKNOWN);
  await page.close();
});

test('a column sorts when its header is clicked, and again the other way', { skip }, async () => {
  const page = await open('/-/machines');
  await Promise.all([page.waitForNavigation(), page.click('#machines th a[href*="sort=boots"]')]);
  assert.equal(await page.$eval('#machines th[aria-sort]', (th) => `${th.textContent} ${th.getAttribute('aria-sort')}`), 'Boots ▲ ascending');
  assert.equal((await cells(page, 'machines', 'boots'))[0], '1');
  await Promise.all([page.waitForNavigation(), page.click('#machines th a[href*="sort=boots"]')]);
  const boots = await cells(page, 'machines', 'boots');
  assert.deepEqual(boots.slice(0, LOOPING), Array(LOOPING).fill('5'));
  const flags = await cells(page, 'machines', 'flags');
  assert.ok(flags.slice(0, LOOPING).every((text) => text.includes('install loop')), flags.slice(0, LOOPING).join());
  await page.close();
});

test('one machine in detail: what it boots and links to its compiled answers', { skip }, async () => {
  const page = await open(`/-/machines?q=${mac(7000)}`);
  await Promise.all([page.waitForNavigation(), page.click(`#machines a[href*="machine="]`)]);
  const detail = await page.$eval('.detail', (el) => el.textContent!.replace(/\s+/g, ' '));
  assert.match(detail, /Kernel ?\/images\/flatcar\/4152\.0\.0\/flatcar_production_pxe\.vmlinuz/);
  assert.match(detail, /Revision served ?[0-9a-f]{12}/);
  assert.match(detail, /Its compiled answers ?cloud · grub · ipxe · pixiecore/); // cloud: the default's
  await Promise.all([page.waitForNavigation(), page.click('.detail a[href*="path=ipxe"]')]);
  const script = await page.$eval('body', (el) => el.textContent!);
  assert.match(script, /^#!ipxe\nkernel \/images\/flatcar\/4152\.0\.0\/flatcar_production_pxe\.vmlinuz/);
  await page.close();
});

test('on a phone the page fits its width (wide tables scroll inside their box)', { skip }, async () => {
  const page = await open('/-/machines?q=unknown', 390, 844);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  const size = await page.$eval('#q', (input) => parseFloat(getComputedStyle(input).fontSize));
  assert.ok(size >= 16, 'the filter box is readable (and does not make phones zoom)');
  await page.close();
});

test('the fleet view is not on the address machines boot from', { skip }, async () => {
  assert.equal((await get(bootUrl, '/-/machines')).status, 404);
  assert.equal((await get(bootUrl, '/-/machines.json')).status, 404);
  const json = JSON.parse((await get(admin, '/-/machines.json')).body) as { flags: { loop: string[] } };
  assert.equal(json.flags.loop.length, LOOPING);
});
