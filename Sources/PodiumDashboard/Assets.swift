/// The dashboard's one stylesheet and one script, served from memory (`/static/…`): the pages allow no other script
/// (Content-Security-Policy `script-src 'self'`), and the script writes every value as text, never as markup.
enum Assets {
    static let css = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1a202c;background:#fff}
        nav{background:#1a202c;color:#fff;padding:8px 16px}nav a{color:#cbd5e0;margin-left:14px}
        main{padding:12px 16px}h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:18px 0 6px}
        .muted{color:#718096}.badge{display:inline-block;padding:1px 8px;border-radius:9px;background:#e2e8f0}
        .badge.on{background:#c6f6d5}.badge.off{background:#fed7d7}
        progress{width:720px;max-width:100%;height:12px}
        table{border-collapse:collapse}td,th{padding:2px 6px;text-align:left;vertical-align:top}
        table.list td,table.list th,table.counts td,table.counts th,table.kv td,table.kv th{border-bottom:1px solid #e2e8f0}
        table.grid th{font-weight:normal;font-size:12px;white-space:nowrap}table.grid td{padding:1px}
        .c{display:inline-block;width:14px;height:14px;border-radius:2px;vertical-align:middle;margin-right:3px;background:#e2e8f0}
        .s-pending{background:#e2e8f0}.s-staging{background:#bee3f8}.s-dispatched{background:#90cdf4}.s-running{background:#4299e1}
        .s-collecting{background:#9f7aea}.s-grading{background:#b794f4}.s-completed{background:#68d391}.s-failed{background:#e53e3e}
        .s-cancelled{background:#a0aec0}
        .m-gold{background:#d4af37}.m-silver{background:#a8a9ad}.m-bronze{background:#cd7f32}.m-median{background:#48bb78}
        .m-valid{background:#9ae6b4}.m-invalid{background:#feb2b2}
        td.s-pending,td.s-staging,td.s-dispatched,td.s-running,td.s-collecting,td.s-grading,td.s-completed,td.s-failed,td.s-cancelled{background:none}
        .legend{font-size:12px;margin-bottom:6px}
        pre.log{background:#1a202c;color:#e2e8f0;padding:8px;max-height:70vh;overflow:auto;white-space:pre-wrap;word-break:break-all}
        pre.report{background:#f7fafc;padding:8px;max-height:40vh;overflow:auto}
        .st-up{color:#276749}.st-down{color:#c53030}
        """

    static let js = """
        'use strict';
        // podium dashboard: live updates by Server-Sent Events; every value is set with textContent (never innerHTML).
        (function () {
          const page = document.body.dataset.page;
          const enc = encodeURIComponent;
          function text(el, s) { if (el) el.textContent = s; }
          function row(cells) {
            const tr = document.createElement('tr');
            for (const c of cells) {
              const td = document.createElement('td');
              if (c && c.href) { const a = document.createElement('a'); a.href = c.href; a.textContent = c.text; td.appendChild(a); }
              else td.textContent = c;
              tr.appendChild(td);
            }
            return tr;
          }
          window.podium = { loadId: Math.random().toString(36).slice(2), updates: 0, logUpdates: 0 };

          if (page === 'overview') {
            const sweep = document.body.dataset.sweep;
            const live = document.getElementById('live');
            const es = new EventSource('/api/v1/sweeps/' + enc(sweep) + '/stream');
            es.onopen = function () { text(live, 'live'); live.className = 'badge on'; };
            es.onerror = function () { text(live, 'reconnecting…'); live.className = 'badge off'; };
            es.addEventListener('overview', function (ev) {
              const d = JSON.parse(ev.data);
              const o = d.overview;
              for (const k in o.runs) text(document.getElementById('n-' + k), String(o.runs[k]));
              const done = (o.runs.completed || 0) + (o.runs.failed || 0) + (o.runs.cancelled || 0);
              const bar = document.getElementById('progress');
              if (bar) { bar.max = Math.max(1, o.runs_total); bar.value = done; }
              text(document.getElementById('summary'), d.summary);
              const coord = document.getElementById('coord');
              text(coord, 'coordinator ' + (o.coordinator_running ? 'running' : 'not running'));
              if (coord) coord.className = 'badge ' + (o.coordinator_running ? 'on' : 'off');
              for (const c of d.cells) {
                const el = document.getElementById('r' + c[0]);
                if (el) { el.className = 'c s-' + c[1] + (c[2] ? ' m-' + c[2] : ''); el.dataset.state = c[1]; }
              }
              const tb = document.getElementById('failures');
              if (tb) {
                tb.replaceChildren();
                for (const f of d.failures) tb.appendChild(row([f.at, { href: '/runs/' + enc(f.run), text: f.run }, String(f.epoch), f.node, f.outcome, f.reason]));
                if (!d.failures.length) tb.appendChild(row(['none']));
              }
              window.podium.updates += 1;
            });
          }

          if (page === 'nodes') {
            setInterval(function () {
              fetch('/api/v1/nodes', { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (d) {
                const tb = document.getElementById('nodes');
                if (!tb) return;
                tb.replaceChildren();
                for (const n of d.nodes) {
                  const cache = n.data_cache ? ('held ' + n.data_cache.held_bytes + ' B, staging ' + n.data_cache.staging_bytes + ' B') : '-';
                  tb.appendChild(row([n.name, n.runtime, n.status, n.since ? new Date(n.since * 1000).toISOString() : '-',
                    n.gpus_used + ' / ' + Math.max(0, n.gpus_declared - n.gpus_used), n.gpu_models.join(', ') || '-',
                    n.cpus_used.toFixed(1) + ' of ' + n.cpus_declared.toFixed(1), n.live_attempts.join(' ') || '-', cache, (n.sweeps || []).join('; ') || '-']));
                }
                window.podium.updates += 1;
              }).catch(function () {});
            }, 5000);
          }

          if (page === 'run') {
            const run = document.body.dataset.run;
            const params = new URLSearchParams(location.search);
            const epoch = params.get('epoch') || document.body.dataset.epoch;
            const tail = Number(document.body.dataset.tail) || 65536;
            const pre = document.getElementById('logtext');
            const pos = document.getElementById('logpos');
            const follow = document.getElementById('follow');
            if (!pre) return;
            const base = '/api/v1/runs/' + enc(run) + '/attempts/' + enc(epoch) + '/log';
            let start = 0, next = 0, size = 0, es = null;
            const maxChars = 4 << 20;
            function showPos() { text(pos, 'bytes ' + start + '–' + next + ' of ' + size); }
            function append(s) {
              pre.appendChild(document.createTextNode(s));
              if (pre.textContent.length > maxChars) { pre.textContent = pre.textContent.slice(-maxChars / 2); }
              if (follow.checked) pre.scrollTop = pre.scrollHeight;
            }
            function stream() {
              if (es) es.close();
              es = new EventSource(base + '/stream?from=' + next);
              es.addEventListener('log', function (ev) {
                const d = JSON.parse(ev.data);
                if (d.offset !== next) return;
                append(d.text); next = d.next; size = d.size; showPos();
                window.podium.logUpdates += 1;
              });
            }
            fetch(base + '?tail=' + tail, { credentials: 'same-origin' }).then(function (r) {
              if (!r.ok) throw new Error('log: HTTP ' + r.status);
              return r.json();
            }).then(function (d) {
              start = d.offset; next = d.next; size = d.size;
              append(d.text); showPos();
              window.podium.logLoaded = performance.now();
              if (follow.checked) stream();
            }).catch(function (e) { text(pos, String(e)); });
            follow.addEventListener('change', function () { if (follow.checked) stream(); else if (es) { es.close(); es = null; } });
            document.getElementById('older').addEventListener('click', function () {
              if (start <= 0) return;
              const from = Math.max(0, start - tail);
              fetch(base + '?offset=' + from + '&length=' + (start - from), { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (d) {
                pre.insertBefore(document.createTextNode(d.text), pre.firstChild);
                start = d.offset; showPos();
              });
            });
          }
        })();
        """
}
