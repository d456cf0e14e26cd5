import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMac } from '../src/ids.js';
test('placeholder until the suite lands', () => { assert.equal(parseMac('52:54:00:12:34:56'), '52-54-00-12-34-56'); });
