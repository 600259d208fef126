//! The HTML page: one file, no network. The drawing is SVG laid out by [`super::layout`]; a
//! little script adds what a reader needs on a large program — pan and zoom, a search box that
//! finds nodes by name or operator, module groups that collapse — and the page reads without
//! it (hovering a box shows its details through SVG titles).

use std::collections::BTreeMap;
use std::fmt::Write;

use ir::ExportedProgram;

use super::{escape, Drawing, Item, Kind, CAPTION, LINE_HEIGHT, PAD};

const MARGIN: f64 = 24.0;

/// A module group of the drawing: its members' bounding box, padded by how many groups it holds.
struct Group {
    fqn: String,
    class: String,
    depth: usize,
    below: usize,
    members: Vec<usize>,
    bbox: (f64, f64, f64, f64),
}

fn groups(d: &Drawing) -> Vec<Group> {
    let mut by_fqn: BTreeMap<String, Group> = BTreeMap::new();
    for (i, it) in d.items.iter().enumerate() {
        let n = it.modules.len();
        for (depth, (fqn, class)) in it.modules.iter().enumerate() {
            let g = by_fqn.entry(fqn.clone()).or_insert_with(|| Group {
                fqn: fqn.clone(),
                class: class.clone(),
                depth,
                below: 0,
                members: Vec::new(),
                bbox: (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY),
            });
            g.below = g.below.max(n - 1 - depth);
            g.members.push(i);
            let (x, y, (w, h)) = (d.layout.x[i], d.layout.y[i], d.sizes[i]);
            g.bbox = (g.bbox.0.min(x), g.bbox.1.min(y), g.bbox.2.max(x + w), g.bbox.3.max(y + h));
        }
    }
    let mut gs: Vec<Group> = by_fqn.into_values().collect();
    // outer groups first, so inner ones are drawn over them
    gs.sort_by_key(|g| g.depth);
    gs
}

/// The page for `ep`, titled `title` (the archive's name).
pub fn html(ep: &ExportedProgram, title: &str) -> String {
    let d = Drawing::of_program(ep);
    let gs = groups(&d);
    let (w, h) = (d.layout.width + 2.0 * MARGIN, d.layout.height + 2.0 * MARGIN + 16.0);
    let mut svg = String::new();
    // group membership of each root item, as classes (`m3 m7`) the script hides together
    let mut member_classes = vec![String::new(); d.items.len()];
    for (gi, g) in gs.iter().enumerate() {
        for &i in &g.members {
            let _ = write!(member_classes[i], " m{gi}");
        }
    }
    let _ = writeln!(svg, "<g transform=\"translate({MARGIN},{})\">", MARGIN + 16.0);
    for (gi, g) in gs.iter().enumerate() {
        let pad = 6.0 + 14.0 * g.below as f64;
        let (x0, y0, x1, y1) = (g.bbox.0 - pad, g.bbox.1 - pad - 12.0, g.bbox.2 + pad, g.bbox.3 + pad);
        let _ = writeln!(
            svg,
            "<g class=\"group d{}\" id=\"g{gi}\" data-i=\"{gi}\"><rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"6\"/><text x=\"{:.1}\" y=\"{:.1}\">{} · {}</text></g>",
            g.depth % 4,
            x1 - x0,
            y1 - y0,
            x0 + 6.0,
            y0 + 11.0,
            escape(&g.fqn),
            escape(&g.class)
        );
    }
    draw(&mut svg, &d, 0.0, 0.0, &member_classes);
    svg.push_str("</g>\n");

    let counts = d.all_items().iter().filter(|i| i.kind == Kind::Operator).count();
    let mut page = String::new();
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} — pt2 graph</title>
<style>{STYLE}</style></head>
<body>
<header><b>{title}</b> <span class="muted">{counts} operator nodes</span>
<input id="q" type="search" placeholder="find a node by name or operator (Enter: next)" size="44"> <span id="hits" class="muted"></span>
<span class="legend"><i class="input">user input</i><i class="parameter">parameter</i><i class="buffer">buffer</i><i class="constant">constant</i><i class="op">operator</i><i class="output">output</i></span>
<span class="muted">drag to pan, wheel to zoom, click a module's name to fold it, hover a box for its details</span></header>
<svg xmlns="http://www.w3.org/2000/svg" id="g" data-w="{w:.0}" data-h="{h:.0}" viewBox="0 0 {w:.0} {h:.0}">
<defs><marker id="a" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L8,4L0,8z" class="arrow"/></marker></defs>
{svg}</svg>
<script>{SCRIPT}</script>
</body></html>
"#,
        title = escape(title),
    );
    page
}

/// Draws `d`'s edges and boxes, offset by (`dx`, `dy`); `classes` are extra classes per item.
fn draw(out: &mut String, d: &Drawing, dx: f64, dy: f64, classes: &[String]) {
    for (k, path) in d.layout.edges.iter().enumerate() {
        let (a, b) = d.edges[k];
        // an edge inside a group folds with it
        let common: Vec<&str> = classes.get(a).map(|c| c.split_whitespace().filter(|m| classes.get(b).is_some_and(|cb| cb.split_whitespace().any(|x| x == *m))).collect()).unwrap_or_default();
        // symbolic sizes (`sym_size` feeding every `view`) are drawn faint: they are many, and
        // not the data
        let sym = if d.items[a].subtitle.starts_with("Sym(") { " sym" } else { "" };
        let _ = writeln!(out, "<path class=\"edge{sym} {}\" d=\"{}\" marker-end=\"url(#a)\"/>", common.join(" "), curve(path, dx, dy));
    }
    for (i, it) in d.items.iter().enumerate() {
        let (x, y) = (d.layout.x[i] + dx, d.layout.y[i] + dy);
        let (w, h) = d.sizes[i];
        item(out, it, x, y, w, h, classes.get(i).map(String::as_str).unwrap_or(""));
    }
}

fn item(out: &mut String, it: &Item, x: f64, y: f64, w: f64, h: f64, classes: &str) {
    let search = format!("{} {}", it.id, it.title).to_lowercase();
    let _ = write!(
        out,
        "<g class=\"node {}{classes}\" id=\"n:{}\" data-s=\"{}\" data-x=\"{:.0}\" data-y=\"{:.0}\"><title>{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"4\"/>",
        it.kind.class(),
        escape(&it.id),
        escape(&search),
        x + w / 2.0,
        y + h / 2.0,
        escape(&it.details)
    );
    let cx = x + w / 2.0;
    let _ = write!(out, "<text class=\"t1\" x=\"{cx:.1}\" y=\"{:.1}\">{}</text>", y + PAD / 2.0 + LINE_HEIGHT - 3.0, escape(&it.title));
    if !it.subtitle.is_empty() {
        let _ = write!(out, "<text class=\"t2\" x=\"{cx:.1}\" y=\"{:.1}\">{}</text>", y + PAD / 2.0 + 2.0 * LINE_HEIGHT - 3.0, escape(&it.subtitle));
    }
    if !it.subgraphs.is_empty() {
        let lines = if it.subtitle.is_empty() { 1.0 } else { 2.0 };
        let top = y + lines * LINE_HEIGHT + PAD;
        let mut sx = x + PAD;
        for (name, sub) in &it.subgraphs {
            let (sw, sh) = (sub.layout.width + 2.0 * PAD, sub.layout.height + CAPTION + PAD);
            let _ = write!(out, "<rect class=\"sub\" x=\"{sx:.1}\" y=\"{top:.1}\" width=\"{sw:.1}\" height=\"{sh:.1}\" rx=\"4\"/>");
            let _ = write!(out, "<text class=\"cap\" x=\"{:.1}\" y=\"{:.1}\">{}</text>", sx + PAD, top + 13.0, escape(name));
            out.push('\n');
            draw(out, sub, sx + PAD, top + CAPTION, &[]);
            sx += sw + PAD;
        }
    }
    out.push_str("</g>\n");
}

/// A smooth path through an edge's points: vertical tangents at each point.
fn curve(points: &[(f64, f64)], dx: f64, dy: f64) -> String {
    let mut s = String::new();
    let (x0, y0) = points[0];
    let _ = write!(s, "M{:.1},{:.1}", x0 + dx, y0 + dy);
    for pair in points.windows(2) {
        let ((ax, ay), (bx, by)) = (pair[0], pair[1]);
        let k = (by - ay) / 2.0;
        let _ = write!(s, "C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", ax + dx, ay + dy + k, bx + dx, by + dy - k, bx + dx, by + dy);
    }
    s
}

const STYLE: &str = r#"
body{margin:0;font:13px system-ui,sans-serif;overflow:hidden}
header{position:fixed;top:0;left:0;right:0;padding:6px 10px;background:#f6f7f9;border-bottom:1px solid #ccd;display:flex;gap:12px;align-items:center;flex-wrap:wrap;z-index:1}
.muted{color:#667}
.legend i{font-style:normal;padding:1px 6px;margin-right:4px;border:1px solid #99a;border-radius:3px}
svg{position:fixed;top:64px;left:0;width:100vw;height:calc(100vh - 64px);cursor:grab;background:#fff}
svg text{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;text-anchor:middle}
.node rect{stroke:#556;stroke-width:1}
.node .t1{font-weight:600}
.node .t2{fill:#445}
.legend .input{background:#cfe3ff}.node.input rect{fill:#cfe3ff}
.legend .parameter{background:#d9f2d0}.node.parameter rect{fill:#d9f2d0}
.legend .buffer{background:#fff0c2}.node.buffer rect{fill:#fff0c2}
.legend .constant{background:#e4e4e4}.node.constant rect,.node.token rect{fill:#e4e4e4}
.node.subinput rect{fill:#e8e0ff}
.legend .op{background:#fff}.node.op rect{fill:#fff}
.legend .output{background:#ffd6d6}.node.output rect{fill:#ffd6d6}
svg text{fill:#223}
.node rect.sub{fill:#f8f8fb;stroke:#aab;stroke-dasharray:3 2}
.node text.cap{text-anchor:start;fill:#556;font-style:italic}
.node.hit rect:first-of-type{stroke:#e5007a;stroke-width:3}
.node.cur rect:first-of-type{fill:#ffe0f0}
.edge{fill:none;stroke:#8a8fa3;stroke-width:1.1}
.arrow{fill:#8a8fa3}
.edge.sym{stroke:#c5c8d4;stroke-dasharray:4 3;stroke-width:.8}
.group rect{fill:#eef3ff;fill-opacity:.35;stroke:#9ab;stroke-width:1}
.group.d1 rect{fill:#f3eeff}.group.d2 rect{fill:#eefaf3}.group.d3 rect{fill:#fff6ea}
.group text{text-anchor:start;fill:#446;cursor:pointer;font-size:11px}
.group.shut rect{fill-opacity:1;fill:#dfe6f5;stroke:#557;stroke-width:1.5}
"#;

const SCRIPT: &str = r#"
const svg=document.getElementById('g');
const W=+svg.dataset.w,H=+svg.dataset.h;
let vb=[0,0,W,H];
// at first: one unit a pixel, the first user input in view
function fit(){const r=svg.getBoundingClientRect();const first=document.querySelector('.node.input');
 let x=0;if(W>r.width&&first)x=Math.max(0,Math.min(W-r.width,+first.dataset.x+24-r.width/2));
 vb=[x,0,r.width,r.height];show();}
function show(){svg.setAttribute('viewBox',vb.join(' '));}
fit();
svg.addEventListener('wheel',e=>{e.preventDefault();const r=svg.getBoundingClientRect();
 const px=vb[0]+(e.clientX-r.left)/r.width*vb[2],py=vb[1]+(e.clientY-r.top)/r.height*vb[3];
 const k=e.deltaY>0?1.15:1/1.15;vb=[px-(px-vb[0])*k,py-(py-vb[1])*k,vb[2]*k,vb[3]*k];show();},{passive:false});
let drag=null;
svg.addEventListener('mousedown',e=>{drag=[e.clientX,e.clientY];svg.style.cursor='grabbing';});
addEventListener('mouseup',()=>{drag=null;svg.style.cursor='grab';});
addEventListener('mousemove',e=>{if(!drag)return;const r=svg.getBoundingClientRect();
 vb[0]-=(e.clientX-drag[0])*vb[2]/r.width;vb[1]-=(e.clientY-drag[1])*vb[3]/r.height;drag=[e.clientX,e.clientY];show();});
const nodes=[...document.querySelectorAll('.node')];
let hits=[],cur=-1;
const q=document.getElementById('q'),count=document.getElementById('hits');
function go(n){nodes.forEach(m=>m.classList.remove('cur'));n.classList.add('cur');
 const x=+n.dataset.x+24,y=+n.dataset.y+40;vb=[x-vb[2]/2,y-vb[3]/2,vb[2],vb[3]];show();}
q.addEventListener('input',()=>{const s=q.value.trim().toLowerCase();hits=[];cur=-1;
 nodes.forEach(n=>{const h=s!==''&&n.dataset.s.includes(s);n.classList.toggle('hit',h);if(h)hits.push(n);});
 count.textContent=s?hits.length+' found':'';if(hits.length){cur=0;go(hits[0]);}});
q.addEventListener('keydown',e=>{if(e.key==='Enter'&&hits.length){cur=(cur+1)%hits.length;go(hits[cur]);count.textContent=(cur+1)+' of '+hits.length;}});
const shut=new Set();
document.querySelectorAll('.group text').forEach(t=>t.addEventListener('click',e=>{e.stopPropagation();
 const g=t.parentNode,i='m'+g.dataset.i;if(shut.has(i))shut.delete(i);else shut.add(i);g.classList.toggle('shut');
 document.querySelectorAll('.'+i).forEach(el=>{el.style.display=[...el.classList].some(c=>shut.has(c))?'none':'';});}));
"#;
