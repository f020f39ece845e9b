// The slab allocator of active points (active-buffers.ts): live blocks never overlap and keep their cells through
// any order of allocs and releases across size classes, and pages emptied by one class are reused by another.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PAGE_POINTS, PagePool, type SizeClass, makeSizeClasses } from "../../src/storage/active-buffers.js";
import { TimeAxis } from "../../src/storage/timestamps.js";

const axis = new TimeAxis("ms");

/** Writes `tag` into every cell of a block (timestamp and value), so an overlap or a lost cell shows. */
function fill(cls: SizeClass, block: number, tag: number): void {
  const page = cls.pageOf(block);
  const at = cls.offsetOf(block);
  for (let i = 0; i < cls.blockPoints; i++) {
    page.ts[at + i] = tag * 1000 + i;
    page.f64[at + i] = -tag - i / 1000;
  }
}

function intact(cls: SizeClass, block: number, tag: number): boolean {
  const page = cls.pageOf(block);
  const at = cls.offsetOf(block);
  for (let i = 0; i < cls.blockPoints; i++) {
    if (page.ts[at + i] !== tag * 1000 + i || page.f64[at + i] !== -tag - i / 1000) return false;
  }
  return true;
}

test("live blocks keep their cells through random allocs and releases in several classes", () => {
  const op = fc.record({ alloc: fc.boolean(), cls: fc.integer({ min: 0, max: 3 }), pick: fc.nat(), burst: fc.integer({ min: 1, max: 3000 }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const classes = makeSizeClasses(axis, 64, new PagePool(axis));
      const live: Array<{ cls: number; block: number; tag: number }> = [];
      let tag = 1;
      for (const o of ops) {
        for (let k = 0; k < o.burst; k++) {
          if (o.alloc || live.length === 0) {
            const block = classes[o.cls]!.alloc();
            fill(classes[o.cls]!, block, tag);
            live.push({ cls: o.cls, block, tag: tag++ });
          } else {
            const at = (o.pick + k * 7919) % live.length;
            const gone = live[at]!;
            live[at] = live[live.length - 1]!;
            live.pop();
            classes[gone.cls]!.release(gone.block);
          }
        }
        for (const b of live) assert.ok(intact(classes[b.cls]!, b.block, b.tag), `block ${b.block} of class ${b.cls} lost its cells`);
        for (let c = 0; c < classes.length; c++) assert.is(classes[c]!.live, live.filter((b) => b.cls === c).length);
      }
      for (const b of live) classes[b.cls]!.release(b.block);
      for (const c of classes) assert.is(c.bytes, 0, "an empty class holds no pages");
    }),
    { numRuns: 60 },
  );
});

test("heads moving from the 8-point class to the 12-point class reuse the emptied pages", () => {
  const pool = new PagePool(axis);
  const [c8, c12] = makeSizeClasses(axis, 2048, pool);
  const n = 100_000;
  const blocks = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    blocks[i] = c8!.alloc();
    fill(c8!, blocks[i]!, i + 1);
  }
  const pages = new Set(c8!.pages);
  let peak = 0;
  for (let i = 0; i < n; i++) {
    assert.ok(intact(c8!, blocks[i]!, i + 1));
    const moved = c12!.alloc();
    fill(c12!, moved, i + 1);
    c8!.release(blocks[i]!);
    blocks[i] = moved;
    peak = Math.max(peak, c8!.bytes + c12!.bytes + pool.bytes);
  }
  for (let i = 0; i < n; i++) assert.ok(intact(c12!, blocks[i]!, i + 1));
  assert.is(c8!.bytes, 0);
  // the 12-point class needs 1.5x the pages; all but a few of them are the 8-point class's old pages
  const reused = c12!.pages.filter((p) => pages.has(p)).length;
  assert.ok(reused >= pages.size - 2, `only ${reused} of ${pages.size} pages reused`);
  const pageBytes = PAGE_POINTS * 16;
  assert.ok(peak <= c12!.bytes + 3 * pageBytes, `peak ${peak} B while moving, ${c12!.bytes} B after`);
});

test.run();
