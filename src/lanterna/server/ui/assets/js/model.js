// A trace's span tree built from the skeleton's columns in O(n), and the rows it shows.
//
// Nodes are indices into the columns. Children are kept in one array (CSR: childStart[i] ..
// childStart[i+1]) in start order; `order` is the pre-order walk and `size` each subtree's node
// count, so the visible rows are one pass over `order` that jumps over collapsed subtrees.
// Spans whose parent is missing (not arrived yet, or outside the trace) become roots: nothing is
// dropped.

export class SpanTree {
  constructor(skeleton) {
    const c = skeleton.columns;
    const n = skeleton.span_count ?? c.span_id.length;
    this.n = n;
    this.ids = c.span_id;
    this.names = c.name;
    this.types = c.span_type;
    this.status = c.status;
    this.start = c.start;
    this.end = c.end;
    this.origin = BigInt(skeleton.origin_ns || "0");
    this.index = new Map();
    for (let i = 0; i < n; i++) this.index.set(c.span_id[i], i);
    const parent = new Int32Array(n);
    const childCount = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const p = c.parent_span_id[i];
      const at = p === null || p === undefined ? -1 : (this.index.get(p) ?? -1);
      parent[i] = at === i ? -1 : at;
      if (parent[i] >= 0) childCount[parent[i]]++;
    }
    const childStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) childStart[i + 1] = childStart[i] + childCount[i];
    const fill = childStart.slice(0, n);
    const children = new Int32Array(childStart[n]);
    for (let i = 0; i < n; i++) if (parent[i] >= 0) children[fill[parent[i]]++] = i;
    this.parent = parent;
    this.childStart = childStart;
    this.children = children;
    this.walk();
    let maxEnd = 0;
    let open = 0;
    for (let i = 0; i < n; i++) {
      const end = c.end[i];
      if (end === null || end === undefined) open++;
      else if (end > maxEnd) maxEnd = end;
      if (c.start[i] > maxEnd) maxEnd = c.start[i];
    }
    this.open = open;
    this.extent = Math.max(maxEnd, 1);
    this.errors = 0;
    for (let i = 0; i < n; i++) if (c.status[i] === "ERROR") this.errors++;
  }

  /** Pre-order walk with depths and subtree sizes; a parent cycle is cut where first met. */
  walk() {
    const n = this.n;
    const order = new Int32Array(n);
    const position = new Int32Array(n).fill(-1);
    const depth = new Int32Array(n);
    const size = new Int32Array(n);
    const stack = new Int32Array(n + 1);
    let count = 0;
    const visit = (root) => {
      let top = 0;
      stack[top++] = root;
      depth[root] = 0;
      this.parent[root] = -1;
      while (top) {
        const node = stack[--top];
        position[node] = count;
        order[count++] = node;
        for (let k = this.childStart[node + 1] - 1; k >= this.childStart[node]; k--) {
          const child = this.children[k];
          if (position[child] !== -1 || this.parent[child] !== node) continue;
          depth[child] = depth[node] + 1;
          stack[top++] = child;
        }
      }
    };
    for (let i = 0; i < n; i++) if (this.parent[i] === -1) visit(i);
    for (let i = 0; i < n; i++) if (position[i] === -1) visit(i); // in a cycle: a root now
    // Subtree sizes: children come after their parent in pre-order, so sum backwards.
    size.fill(1);
    for (let k = n - 1; k >= 0; k--) {
      const node = order[k];
      const p = this.parent[node];
      if (p >= 0) size[p] += size[node];
    }
    this.order = order;
    this.position = position;
    this.depth = depth;
    this.size = size;
    this.roots = [];
    for (let k = 0; k < n; k += size[order[k]]) this.roots.push(order[k]);
  }

  childCount(i) {
    return this.childStart[i + 1] - this.childStart[i];
  }

  duration(i) {
    const end = this.end[i];
    return end === null || end === undefined ? null : end - this.start[i];
  }

  /**
   * The rows to show: pre-order, skipping collapsed subtrees; with `keep` (a Uint8Array of
   * matching spans) only those and their ancestors.
   */
  visibleRows(collapsed, keep = null) {
    const rows = new Int32Array(this.n);
    let count = 0;
    let shown = keep;
    if (keep) {
      shown = new Uint8Array(this.n);
      for (let i = 0; i < this.n; i++) {
        if (!keep[i]) continue;
        for (let p = i; p >= 0 && !shown[p]; p = this.parent[p]) shown[p] = 1;
      }
    }
    for (let k = 0; k < this.n;) {
      const node = this.order[k];
      if (shown && !shown[node]) { k += this.size[node]; continue; }
      rows[count++] = node;
      k += collapsed[node] ? this.size[node] : 1;
    }
    return rows.subarray(0, count);
  }

  /** Ancestors of `i`, nearest first. */
  ancestors(i) {
    const out = [];
    for (let p = this.parent[i]; p >= 0; p = this.parent[p]) out.push(p);
    return out;
  }
}
