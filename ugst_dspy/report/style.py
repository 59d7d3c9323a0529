"""The HTML report's stylesheet, inlined into every report (system fonts only, nothing fetched)."""

STYLE = r"""
:root {
  --ok: #2e9d5b; --warn: #e0a100; --idle: #9aa0a6; --bad: #d64545; --ink: #1f2328; --muted: #656d76;
  --line: #d8dee4; --bg: #ffffff; --soft: #f6f8fa; --accent: #0969da;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: var(--bg); }
main { max-width: 1500px; margin: 0 auto; padding: 16px 24px 64px; }
h1 { font-size: 22px; margin: 4px 0 2px; }
h2 { font-size: 17px; margin: 22px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 12px 0 6px; }
.sub { color: var(--muted); margin: 0 0 8px; }
table.grid { border-collapse: collapse; margin: 4px 0 8px; }
table.grid th, table.grid td { border: 1px solid var(--line); padding: 4px 8px; text-align: right; white-space: nowrap; }
table.grid th { background: var(--soft); font-weight: 600; }
table.grid td:first-child, table.grid th:first-child { text-align: left; }
table.grid td:first-child { white-space: normal; max-width: 320px; overflow-wrap: anywhere; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
svg.chart { background: #fff; border: 1px solid var(--line); border-radius: 6px; }
svg.chart .grid { stroke: #e6e9ec; }
svg.chart .tick, svg.chart .leg, svg.chart .na { font-size: 11px; fill: var(--muted); }
svg.chart .xlab { font-size: 12px; fill: var(--ink); font-weight: 600; }
svg.chart .ctitle { font-size: 13px; fill: var(--ink); font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 6px 0; color: var(--muted); font-size: 12px; }
.filters { position: sticky; top: 0; z-index: 5; background: var(--bg); padding: 8px 0; border-bottom: 1px solid var(--line);
           display: flex; flex-wrap: wrap; gap: 10px; align-items: center; }
.filters label { font-size: 12px; color: var(--muted); display: flex; flex-direction: column; gap: 2px; }
.filters select, .filters input { font: inherit; font-size: 13px; padding: 3px 4px; border: 1px solid var(--line); border-radius: 4px; }
.filters .count { margin-left: auto; color: var(--muted); }
button { font: inherit; font-size: 13px; padding: 3px 10px; border: 1px solid var(--line); border-radius: 4px;
         background: var(--soft); cursor: pointer; }
button:hover { border-color: var(--accent); }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
table.list { width: 100%; border-collapse: collapse; margin-top: 8px; }
table.list > thead th { text-align: left; font-size: 12px; color: var(--muted); border-bottom: 1px solid var(--line); padding: 4px 6px; }
table.list > tbody > tr.conv > td { border-bottom: 1px solid var(--line); padding: 5px 6px; vertical-align: middle; }
tr.conv { cursor: pointer; }
tr.conv:hover > td { background: var(--soft); }
tr.conv.open > td { background: #eef4fb; }
tr.conv .key { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
tr.conv .tw { display: inline-block; width: 1em; color: var(--muted); }
td.detail-cell { padding: 0 0 14px 0; border-bottom: 2px solid var(--accent); }
.strip { display: inline-flex; gap: 2px; flex-wrap: wrap; max-width: 240px; }
.strip i { width: 10px; height: 10px; border-radius: 2px; display: inline-block; }
.badge { display: inline-block; font-size: 11.5px; padding: 1px 7px; border-radius: 10px; background: var(--soft);
         border: 1px solid var(--line); margin: 1px 2px; white-space: nowrap; }
.badge.dx { background: #fff1f0; border-color: #f3b4ae; color: #a4262c; }
.badge.end { background: #eef2ff; border-color: #c7d2fe; }
.badge.ann { background: #eafaf0; border-color: #a7e3bd; color: #166534; }
.pager { display: flex; gap: 8px; align-items: center; margin: 10px 0; }
.detail { padding: 10px 12px; background: #fbfcfd; }
.detail .ins { margin: 0 0 8px; padding: 8px 10px; background: var(--soft); border-left: 3px solid var(--accent); white-space: pre-wrap; }
.detail .heads { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: flex-start; margin-bottom: 8px; }
table.kv { border-collapse: collapse; font-size: 12px; }
table.kv th, table.kv td { padding: 1px 8px 1px 0; text-align: left; vertical-align: top; }
table.kv th { color: var(--muted); font-weight: 500; white-space: nowrap; }
table.kv td { max-width: 520px; word-break: break-word; }
table.usage { border-collapse: collapse; font-size: 12px; }
table.usage th, table.usage td { border: 1px solid var(--line); padding: 1px 6px; text-align: right; }
table.usage th:first-child, table.usage td:first-child { text-align: left; }
.panes { display: grid; grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr); gap: 14px; }
@media (max-width: 1000px) { .panes { grid-template-columns: 1fr; } }
.tl-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
table.tl { border-collapse: separate; border-spacing: 2px; font-size: 12px; }
table.tl th.col { font-weight: 600; color: var(--muted); min-width: 30px; cursor: pointer; text-align: center; }
table.tl th.col:hover { color: var(--accent); }
table.tl th.col.hl { color: var(--accent); text-decoration: underline; }
table.tl th.col.bad::after { content: " !"; color: var(--bad); }
table.tl th.lab { text-align: left; font-weight: 400; max-width: 330px; min-width: 200px; padding-right: 6px;
                  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; position: sticky; left: 0; background: #fff; z-index: 1; }
table.tl th.lab .cat { display: inline-block; min-width: 38px; font-size: 10.5px; color: #fff; background: #57606a;
                        border-radius: 3px; padding: 0 4px; margin-right: 5px; text-align: center; }
table.tl tr.child th.lab { padding-left: 14px; }
table.tl tr.dim { opacity: .35; }
.chip { display: inline-block; min-width: 30px; height: 20px; line-height: 20px; border-radius: 4px; font-size: 10.5px;
        font-weight: 600; text-align: center; color: #fff; cursor: pointer; opacity: .5; user-select: none;
        border: 0; padding: 0 2px; }
.chip.start { opacity: 1; }
.chip.chg { opacity: 1; outline: 2px solid #1f2328; outline-offset: -2px; }
.chip.sel { outline: 3px solid var(--accent); outline-offset: 0; opacity: 1; }
.chip.none { background: repeating-linear-gradient(45deg, #eee, #eee 3px, #fff 3px, #fff 6px); color: var(--muted); cursor: default; opacity: 1; }
.s-ALIGNED, .s-COMPLETE { background: var(--ok); }
.s-ATTEMPTED { background: var(--warn); }
.s-INCOMPLETE { background: var(--idle); }
.s-MISALIGNED { background: var(--bad); }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; vertical-align: -2px; margin-right: 4px; }
select.chip { appearance: none; -webkit-appearance: none; opacity: 1; min-width: 38px; font-family: inherit; }
select.chip.human { outline: 2px dashed #1f2328; outline-offset: 1px; }
select.chip option { color: var(--ink); background: #fff; }
.panel { margin-top: 10px; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: #fff; min-height: 54px; }
.panel .ph { color: var(--muted); }
.panel .ptitle { font-weight: 600; }
.panel .reason { margin: 4px 0; padding: 4px 8px; background: #fffbea; border-left: 3px solid var(--warn); white-space: pre-wrap; }
.transcript { max-height: 72vh; overflow-y: auto; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; background: #fff; }
.turn { padding: 6px 4px; border-bottom: 1px dashed var(--line); }
.turn.hl { background: #eef4fb; }
.turn h4 { margin: 0 0 4px; font-size: 12px; color: var(--muted); }
.msg { margin: 3px 0; padding: 5px 8px; border-radius: 6px; white-space: pre-wrap; word-break: break-word; }
.msg.user { background: #eef6ff; }
.msg.agent { background: #f3f4f6; }
.msg .who { font-size: 11px; font-weight: 600; color: var(--muted); margin-right: 6px; }
.msg.why { background: #fafafa; color: var(--muted); font-style: italic; }
details.tools { margin: 3px 0 3px 8px; font-size: 12px; }
details.tools summary { cursor: pointer; color: var(--muted); }
.tc { margin: 3px 0; padding: 4px 6px; background: #f6f8fa; border-radius: 4px; }
.tc pre { margin: 2px 0 0; white-space: pre-wrap; word-break: break-word; font-size: 11.5px; max-height: 240px; overflow: auto; }
.tc .tname { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; }
ul.changes { margin: 3px 0 0; padding-left: 18px; font-size: 12px; }
ul.changes li { margin: 1px 0; }
.ill { font-size: 12px; color: var(--bad); }
.empty { color: var(--muted); padding: 16px; }
.annbar { display: flex; gap: 10px; align-items: center; padding: 8px 10px; margin: 8px 0; border: 1px solid #a7e3bd;
          background: #f0fbf4; border-radius: 6px; flex-wrap: wrap; }
.bh { display: inline-block; font-size: 10.5px; line-height: 14px; padding: 0 5px; border-radius: 8px; margin: 1px 2px;
      border: 1px solid var(--bh, #57606a); white-space: nowrap; font-weight: 600; cursor: help; vertical-align: 1px; }
.bh.on { background: var(--bh, #57606a); color: #fff; }
.bh.off { background: #fff; color: var(--bh, #57606a); }
.bh.na { background: #fff; color: var(--muted); border-style: dotted; }
.legend .bh { --bh: #57606a; }
.bh.mini { display: block; margin: 1px auto; padding: 0 3px; font-size: 9.5px; line-height: 13px; }
table.tl tr.bhrow th.lab { color: var(--muted); font-style: italic; }
table.tl td.bhs { vertical-align: top; text-align: center; cursor: pointer; }
.badge.bhlabel { background: #f5f0ff; border-color: #d8c7fb; color: #5a32a3; }
tr.conv td.beh { font-size: 12.5px; color: #5a32a3; }
kbd { font: 11px ui-monospace, monospace; border: 1px solid var(--line); border-radius: 3px; padding: 0 3px; background: var(--soft); }
"""
