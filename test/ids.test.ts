import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMac, parseUuid } from '../src/compile/ids.js';

test('every accepted MAC spelling normalizes to lowercase hyphens', () => {
  for (const spelling of ['52:54:00:ab:cd:ef', '52-54-00-AB-CD-EF', '525400abcdef', '525400ABCDEF', '52:54:00:Ab:cD:eF', '5254.00ab.cdef', '5254.00AB.CDEF']) {
    assert.equal(parseMac(spelling), '52-54-00-ab-cd-ef', spelling);
  }
});

test('MACs with mixed separators, wrong lengths or other characters are refused', () => {
  for (const bad of ['52:54-00:ab:cd:ef', '52:54:00:ab:cd', '52:54:00:ab:cd:ef:01', '52:54:00:ab:cd:eg', '52::54:00:ab:cd:ef', '', '../etc/passwd', '52:54:00:ab:cd:ef\0', ' 52:54:00:ab:cd:ef', '5254.00ab.cdef.0000', '52%3A54%3A00%3Aab%3Acd%3Aef']) {
    assert.equal(parseMac(bad), undefined, JSON.stringify(bad));
  }
});

test('UUIDs in any case normalize to lowercase 8-4-4-4-12; other shapes are refused', () => {
  assert.equal(parseUuid('1CFF2CD8-F00A-42C8-9426-F55E6A1847F6'), '1cff2cd8-f00a-42c8-9426-f55e6a1847f6');
  for (const bad of ['1cff2cd8f00a42c89426f55e6a1847f6', '{1cff2cd8-f00a-42c8-9426-f55e6a1847f6}', '1cff2cd8-f00a-42c8-9426-f55e6a1847f', '1cff2cd8-f00a-42c8-9426-f55e6a1847f6/..', 'zcff2cd8-f00a-42c8-9426-f55e6a1847f6']) {
    assert.equal(parseUuid(bad), undefined, bad);
  }
});
