// Merging what Butane sugar generates (boot_device's storage, with_mount_unit's units) with what
// the operator wrote, the way Butane does: by Ignition's merge keys, the operator's entry refining
// the generated one with the same key field by field, every other entry added after the
// generated ones. Pure data in, data out.

type Obj = Record<string, unknown>;

// Ignition's merge keys: an entry of the operator's with the same key as a generated one
// refines it field by field; any other entry is added after the generated ones.
const KEYS: Record<string, (item: Obj) => unknown> = {
  units: (item) => item.name,
  dropins: (item) => item.name,
  disks: (item) => item.device,
  filesystems: (item) => item.device,
  raid: (item) => item.name,
  luks: (item) => item.name,
  partitions: (item) => (typeof item.number === 'number' && item.number !== 0 ? `#${item.number}` : item.label),
  tang: (item) => item.url,
};

/**
 * A generated section (storage, systemd) with the operator's merged over it. `trace` learns, for every object the
 * merge made anew, the operator's object it came from (so positions can follow).
 */
export function mergeSection(generated: Obj, own: Obj, trace: Map<object, object>): Obj {
  const out: Obj = { ...generated };
  for (const [key, value] of Object.entries(own)) out[key] = mergeValue(key, out[key], value, trace);
  trace.set(out, own);
  return out;
}

function mergeValue(key: string, base: unknown, over: unknown, trace: Map<object, object>): unknown {
  if (Array.isArray(base) && Array.isArray(over) && KEYS[key]) return mergeList(KEYS[key], base as Obj[], over as Obj[], trace);
  if (isObject(base) && isObject(over)) return mergeSection(base, over, trace);
  return over;
}

function mergeList(keyOf: (item: Obj) => unknown, base: Obj[], over: Obj[], trace: Map<object, object>): Obj[] {
  const out = [...base];
  for (const item of over) {
    const index = isObject(item) ? out.findIndex((candidate) => keyOf(candidate) !== undefined && keyOf(candidate) === keyOf(item)) : -1;
    if (index === -1) out.push(item);
    else out[index] = mergeSection(out[index]!, item, trace);
  }
  return out;
}

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
