//! A layered drawing of a directed acyclic graph, top to bottom (the Sugiyama scheme, kept
//! small): ranks by longest path, with sources pulled down next to their first consumer; long
//! edges broken into dummy points so they are routed around nodes; orders within ranks by
//! barycenter sweeps; x positions pulled towards neighbours without overlap.

/// What the layout needs of a node: its size. A source (a node with no predecessor: an
/// input, a weight, a constructor) floats down to just above its first consumer, beside the
/// layer that reads it; one with no consumer either sits in rows above the graph.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub width: f64,
    pub height: f64,
}

/// Where things go: node boxes (top-left corners) and each edge's path, from the bottom
/// centre of its source to the top centre of its target, through its dummy points.
#[derive(Clone, Debug)]
pub struct Layout {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub rank: Vec<usize>,
    pub edges: Vec<Vec<(f64, f64)>>,
    pub width: f64,
    pub height: f64,
}

const GAP_X: f64 = 20.0;
const GAP_Y: f64 = 36.0;
const SWEEPS: usize = 6;

/// Lays out `shapes` with `edges` (source, target), where every edge goes forward in the node
/// order (a topological order, as a program's nodes are).
pub fn layout(shapes: &[Shape], edges: &[(usize, usize)]) -> Layout {
    let n = shapes.len();
    let mut preds = vec![Vec::new(); n];
    let mut succs = vec![Vec::new(); n];
    for &(a, b) in edges {
        debug_assert!(a < b, "edges go forward in node order");
        preds[b].push(a);
        succs[a].push(b);
    }
    // ranks: longest path, sources that float sitting at rank 0 until moved down
    let mut rank = vec![0usize; n];
    for v in 0..n {
        if !preds[v].is_empty() {
            rank[v] = preds[v].iter().map(|&u| rank[u] + 1).max().unwrap_or(0).max(1);
        }
    }
    for v in 0..n {
        if preds[v].is_empty() {
            rank[v] = succs[v].iter().map(|&w| rank[w]).min().map_or(0, |r| r.saturating_sub(1));
        }
    }
    let ranks = rank.iter().max().map_or(0, |r| r + 1);
    let loose: Vec<bool> = (0..n).map(|v| preds[v].is_empty() && succs[v].is_empty()).collect();

    // every edge one rank long, through dummy points: point ids n.. are dummies
    let mut point_rank = rank.clone();
    let mut width: Vec<f64> = shapes.iter().map(|s| s.width).collect();
    let mut up: Vec<Vec<usize>> = preds.iter().map(|_| Vec::new()).collect();
    let mut down: Vec<Vec<usize>> = succs.iter().map(|_| Vec::new()).collect();
    let mut chains = Vec::with_capacity(edges.len());
    for &(a, b) in edges {
        let mut chain = vec![a];
        let mut prev = a;
        for r in rank[a] + 1..rank[b] {
            let d = point_rank.len();
            point_rank.push(r);
            width.push(0.0);
            up.push(vec![prev]);
            down.push(Vec::new());
            down[prev].push(d);
            chain.push(d);
            prev = d;
        }
        down[prev].push(b);
        up[b].push(prev);
        chain.push(b);
        chains.push(chain);
    }
    let points = point_rank.len();
    // whom a point follows: a floating source follows its consumers; any other point its
    // predecessors that are not floating sources (a layer's weights must not pull the layer
    // sideways, or the drawing drifts a little more with every layer)
    let floating = |p: usize| p < n && preds[p].is_empty();
    let follow_up: Vec<Vec<usize>> = (0..points)
        .map(|p| {
            if floating(p) {
                return down[p].clone();
            }
            let main: Vec<usize> = up[p].iter().copied().filter(|&q| !floating(q)).collect();
            if main.is_empty() { up[p].clone() } else { main }
        })
        .collect();

    // order within ranks: node order first, then barycenter sweeps
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); ranks];
    for p in 0..points {
        if p >= n || !loose[p] {
            layers[point_rank[p]].push(p);
        }
    }
    let mut pos = vec![0.0f64; points];
    let index = |layers: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for layer in layers {
            for (i, &p) in layer.iter().enumerate() {
                pos[p] = i as f64;
            }
        }
    };
    index(&layers, &mut pos);
    for sweep in 0..SWEEPS {
        let downward = sweep % 2 == 0;
        let order: Vec<usize> = if downward { (1..ranks).collect() } else { (0..ranks.saturating_sub(1)).rev().collect() };
        for r in order {
            let neighbours = if downward { &follow_up } else { &down };
            let mut keyed: Vec<(f64, usize)> = layers[r]
                .iter()
                .map(|&p| {
                    let ns = &neighbours[p];
                    let key = if ns.is_empty() { pos[p] } else { ns.iter().map(|&q| pos[q]).sum::<f64>() / ns.len() as f64 };
                    (key, p)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            layers[r] = keyed.into_iter().map(|(_, p)| p).collect();
            for (i, &p) in layers[r].iter().enumerate() {
                pos[p] = i as f64;
            }
        }
    }

    let priority: Vec<u8> = (0..points).map(|p| if p >= n { 1 } else if floating(p) { 0 } else { 2 }).collect();
    // x: packed, then pulled towards neighbours' centres, keeping order and gaps
    let mut cx = vec![0.0f64; points];
    for layer in &layers {
        let mut x = 0.0;
        for &p in layer {
            cx[p] = x + width[p] / 2.0;
            x += width[p] + GAP_X;
        }
    }
    // (sum of wanted centres, count) per point: one buffer for all sweeps
    let mut want = vec![(0.0f64, 0usize); points];
    for sweep in 0..SWEEPS * 2 {
        let downward = sweep % 2 == 0;
        let order: Vec<usize> = if downward { (0..ranks).collect() } else { (0..ranks).rev().collect() };
        for r in order {
            let neighbours = if downward { &follow_up } else { &down };
            let layer = &layers[r];
            // where each neighbour would put this point: its children (or parents) side by side,
            // centred under (or over) it, so a fan-out spreads to both sides, not to one.
            // Floating sources take no part: each wants its consumer's place and, placed last,
            // gathers around it.
            let mut seen = std::collections::HashSet::new();
            for &p in layer.iter().filter(|&&p| !floating(p)) {
                for &q in &neighbours[p] {
                    if !seen.insert(q) {
                        continue;
                    }
                    let mut fan: Vec<usize> = if downward { down[q].clone() } else { follow_up[q].clone() };
                    fan.retain(|&c| point_rank[c] == r && !floating(c));
                    fan.sort_by(|a, b| pos[*a].total_cmp(&pos[*b]));
                    fan.dedup();
                    let total: f64 = fan.iter().map(|&c| width[c] + GAP_X).sum::<f64>() - GAP_X;
                    let mut left = cx[q] - total / 2.0;
                    for c in fan {
                        want[c].0 += left + width[c] / 2.0;
                        want[c].1 += 1;
                        left += width[c] + GAP_X;
                    }
                }
            }
            let desired: Vec<f64> = layer
                .iter()
                .map(|&p| {
                    if floating(p) {
                        down[p].iter().map(|&q| cx[q]).sum::<f64>() / down[p].len().max(1) as f64
                    } else if want[p].1 == 0 {
                        cx[p]
                    } else {
                        want[p].0 / want[p].1 as f64
                    }
                })
                .collect();
            place(layer, &desired, &width, &priority, &mut cx);
            // only this layer's points were wanted somewhere: clear them for the next layer
            for &p in layer {
                want[p] = (0.0, 0);
            }
        }
    }
    // shift everything right of x = 0
    let min_x = (0..points).filter(|&p| p >= n || !loose[p]).map(|p| cx[p] - width[p] / 2.0).fold(f64::INFINITY, f64::min);
    let shift = if min_x.is_finite() { -min_x } else { 0.0 };
    for c in &mut cx {
        *c += shift;
    }

    // y: ranks stacked by their tallest node
    let mut rank_height = vec![0.0f64; ranks];
    for v in (0..n).filter(|&v| !loose[v]) {
        rank_height[rank[v]] = rank_height[rank[v]].max(shapes[v].height);
    }
    let mut rank_y = vec![0.0f64; ranks];
    let mut y = 0.0;
    for r in 0..ranks {
        rank_y[r] = y;
        y += rank_height[r] + GAP_Y;
    }
    let total_width = (0..points).filter(|&p| p >= n || !loose[p]).map(|p| cx[p] + width[p] / 2.0).fold(0.0, f64::max);
    // loose sources (inputs nothing reads) in rows above the graph, not stretching its first rank
    let (mut lx, mut ly, mut row_h, wrap) = (0.0f64, 0.0f64, 0.0f64, total_width.max(800.0));
    let mut loose_at = vec![(0.0, 0.0); n];
    for v in (0..n).filter(|&v| loose[v]) {
        if lx > 0.0 && lx + shapes[v].width > wrap {
            lx = 0.0;
            ly += row_h + GAP_X / 2.0;
            row_h = 0.0;
        }
        loose_at[v] = (lx, ly);
        lx += shapes[v].width + GAP_X / 2.0;
        row_h = row_h.max(shapes[v].height);
    }
    let top = if loose.iter().any(|&l| l) { ly + row_h + GAP_Y } else { 0.0 };
    let x: Vec<f64> = (0..n).map(|v| if loose[v] { loose_at[v].0 } else { cx[v] - shapes[v].width / 2.0 }).collect();
    let ys: Vec<f64> = (0..n).map(|v| if loose[v] { loose_at[v].1 } else { top + rank_y[rank[v]] + (rank_height[rank[v]] - shapes[v].height) / 2.0 }).collect();
    let edges = chains
        .iter()
        .map(|chain| {
            let (a, b) = (chain[0], chain[chain.len() - 1]);
            let mut path = vec![(cx[a], ys[a] + shapes[a].height)];
            for &d in &chain[1..chain.len() - 1] {
                path.push((cx[d], top + rank_y[point_rank[d]] + rank_height[point_rank[d]] / 2.0));
            }
            path.push((cx[b], ys[b]));
            path
        })
        .collect();
    let total_width = total_width.max((0..n).filter(|&v| loose[v]).map(|v| x[v] + shapes[v].width).fold(0.0, f64::max));
    Layout { x, y: ys, rank, edges, width: total_width, height: top + (y - GAP_Y).max(0.0) }
}

/// Centres the points of one layer as near `desired` as their order and gaps allow, by
/// priority (the priority method of layered drawing): points of higher `priority` are placed
/// first and get their place; later ones fit between them. Operators outrank the points of long
/// edges, which outrank floating inputs, so a layer's weights gather around it instead of
/// pushing it (and, a layer at a time, the whole drawing) sideways.
fn place(layer: &[usize], desired: &[f64], width: &[f64], priority: &[u8], cx: &mut [f64]) {
    let k = layer.len();
    // room needed from the centre of i to the centre of j (i < j), all between them included
    let span = |i: usize, j: usize| -> f64 {
        let inner: f64 = (i + 1..j).map(|m| width[layer[m]] + GAP_X).sum();
        width[layer[i]] / 2.0 + GAP_X + inner + width[layer[j]] / 2.0
    };
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(priority[layer[i]]));
    let mut placed: Vec<Option<f64>> = vec![None; k];
    for i in order {
        let lo = (0..i).rev().find_map(|j| placed[j].map(|x| x + span(j, i))).unwrap_or(f64::NEG_INFINITY);
        let hi = (i + 1..k).find_map(|j| placed[j].map(|x| x - span(i, j))).unwrap_or(f64::INFINITY);
        // lo <= hi holds: placed points kept room for everything between them
        placed[i] = Some(desired[i].clamp(lo, hi.max(lo)));
    }
    for (i, &p) in layer.iter().enumerate() {
        cx[p] = placed[i].unwrap_or(desired[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(w: f64) -> Shape {
        Shape { width: w, height: 20.0 }
    }

    // boxes in one rank never overlap, every edge goes downwards from its source to its target,
    // and a floating source sits right above its consumer
    #[test]
    fn a_layout_keeps_boxes_apart_and_edges_downward() {
        // a diamond with a long skip edge and a floating weight
        let shapes = vec![boxed(40.0), boxed(60.0), boxed(30.0), boxed(50.0), boxed(20.0), boxed(35.0), boxed(45.0)];
        let edges = [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (0, 4), (5, 6), (4, 6)];
        let l = layout(&shapes, &edges);
        for a in 0..shapes.len() {
            for b in a + 1..shapes.len() {
                if l.rank[a] == l.rank[b] {
                    let (left, right) = if l.x[a] < l.x[b] { (a, b) } else { (b, a) };
                    assert!(l.x[left] + shapes[left].width + GAP_X <= l.x[right] + 1e-9, "{a} and {b} overlap");
                }
            }
        }
        for (path, &(a, b)) in l.edges.iter().zip(&edges) {
            assert_eq!(path[0], (l.x[a] + shapes[a].width / 2.0, l.y[a] + shapes[a].height));
            assert_eq!(*path.last().unwrap(), (l.x[b] + shapes[b].width / 2.0, l.y[b]));
            assert!(path.windows(2).all(|w| w[0].1 < w[1].1), "edge {a}->{b} goes up: {path:?}");
        }
        // the skip edge 0 -> 4 passes through a dummy point for each rank it crosses
        assert_eq!(l.edges[5].len(), l.rank[4] - l.rank[0] + 1);
        // the weight 5 floats down to the rank above its consumer 6
        assert_eq!(l.rank[5] + 1, l.rank[6]);
        // an input nothing reads sits above the graph, not in its first rank
        let mut with_loose = shapes.clone();
        with_loose.push(boxed(30.0));
        let l2 = layout(&with_loose, &edges);
        let loose = with_loose.len() - 1;
        assert!((0..loose).all(|v| l2.y[loose] + 20.0 < l2.y[v]), "{:?}", l2.y);
    }
}
