// The content types and one-line error bodies of docs/http.md, shared by the case lists so
// that a reworded message changes in one place.

export const TEXT = 'text/plain; charset=utf-8';
export const JSON_TYPE = 'application/json';
export const OCTETS = 'application/octet-stream';

export const NOT_FOUND = 'not found\n';
export const BAD_REQUEST = 'bad request\n';
export const BAD_UUID = 'invalid uuid: expected 8-4-4-4-12 hex digits\n';
export const BAD_MAC = 'invalid mac: expected 6 hex octets, like 52:54:00:12:34:56\n';
