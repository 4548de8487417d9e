/* The /admin pages' own script: charts (uPlot) and the reports table. No inline script is allowed by the CSP. */
(function () {
  'use strict';
  var COLORS = ['#0969da', '#8250df', '#1a7f37', '#bf8700', '#cf222e', '#57606a'];
  var money = new Intl.NumberFormat('ru-RU', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  /** A bar-per-day chart of several series; labels are YYYY-MM-DD days. */
  function drawChart(box, labels, series) {
    if (!window.uPlot || !box || labels.length === 0) return;
    box.textContent = '';
    // one point per day: the x axis counts days and names them «04.12»
    var xs = labels.map(function (_, i) {
      return i;
    });
    var dayName = function (i) {
      var d = labels[Math.round(i)];
      return d ? d.slice(8, 10) + '.' + d.slice(5, 7) : '';
    };
    var width = Math.max(280, box.clientWidth || 600);
    var opts = {
      width: width,
      height: 300,
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
      axes: [
        {
          splits: function () {
            return xs;
          },
          values: function (u, vals) {
            return vals.map(dayName);
          },
        },
        {
          values: function (u, vals) {
            return vals.map(function (v) {
              return money.format(v) + ' ₽';
            });
          },
          size: 90,
        },
      ],
      series: [
        {
          label: 'День',
          value: function (u, v) {
            return v === null || v === undefined ? '—' : dayName(v);
          },
        },
      ].concat(
        series.map(function (s, i) {
          return {
            label: s.label,
            stroke: COLORS[i % COLORS.length],
            fill: COLORS[i % COLORS.length] + '22',
            width: 2,
            points: { show: true, size: 7 },
            value: function (u, v) {
              return v === null || v === undefined ? '—' : money.format(v) + ' ₽';
            },
          };
        }),
      ),
    };
    var data = [xs].concat(
      series.map(function (s) {
        return s.values;
      }),
    );
    var plot = new window.uPlot(opts, data, box);
    window.addEventListener('resize', function () {
      plot.setSize({ width: Math.max(280, box.clientWidth), height: 300 });
    });
  }

  // the overview's chart: its data sit in a JSON island next to it
  var charts = document.querySelectorAll('[data-chart]');
  for (var i = 0; i < charts.length; i++) {
    var island = document.getElementById(charts[i].getAttribute('data-chart'));
    if (!island) continue;
    var data = JSON.parse(island.textContent);
    drawChart(charts[i], data.labels, data.series);
  }

  function cell(col, v) {
    if (v === null || v === undefined || v === '') return '—';
    if (col.type === 'money') return money.format(Number(v) / 100) + '\u00a0₽';
    if (col.type === 'count') return String(v);
    return String(v);
  }

  /** Any report of the API: its columns and rows as a table, its totals as the last row. */
  function renderReport(box, r) {
    box.textContent = '';
    if (!r.rows || r.rows.length === 0) {
      box.appendChild(el('p', 'За этот период данных нет.', 'muted'));
      return;
    }
    var wrap = el('div', null, 'scroll');
    var t = el('table');
    var head = el('tr');
    r.columns.forEach(function (c) {
      head.appendChild(el('th', c.title, c.type === 'money' || c.type === 'count' ? 'n' : ''));
    });
    var thead = el('thead');
    thead.appendChild(head);
    t.appendChild(thead);
    var body = el('tbody');
    r.rows.forEach(function (row) {
      var tr = el('tr');
      r.columns.forEach(function (c) {
        tr.appendChild(el('td', cell(c, row[c.key]), c.type === 'money' || c.type === 'count' ? 'n' : ''));
      });
      body.appendChild(tr);
    });
    if (r.totals) {
      var tr = el('tr', null, 'totals');
      r.columns.forEach(function (c, k) {
        var v = r.totals[c.key];
        tr.appendChild(
          el(
            'th',
            v === undefined || v === null ? (k === 0 ? 'Итого' : '') : cell(c, v),
            c.type === 'money' || c.type === 'count' ? 'n' : '',
          ),
        );
      });
      body.appendChild(tr);
    }
    t.appendChild(body);
    wrap.appendChild(t);
    box.appendChild(wrap);
  }

  /** Sums the report's first money column by day and channel (the payments register). */
  function reportChart(box, r) {
    var cols = r.columns || [];
    var dateCol = cols.find(function (c) {
      return c.type === 'date';
    });
    var moneyCol = cols.find(function (c) {
      return c.type === 'money';
    });
    var channelCol = cols.find(function (c) {
      return /channel|method/i.test(c.key);
    });
    if (!dateCol || !moneyCol || !r.rows || r.rows.length === 0) {
      box.hidden = true;
      return;
    }
    var days = {},
      channels = {};
    r.rows.forEach(function (row) {
      var day = String(row[dateCol.key] || '').slice(0, 10);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return;
      var ch = channelCol ? String(row[channelCol.key] || '—') : moneyCol.title;
      days[day] = true;
      channels[ch] = channels[ch] || {};
      channels[ch][day] = (channels[ch][day] || 0) + Number(row[moneyCol.key] || 0) / 100;
    });
    // every day of the period asked, a day without payments at zero
    var labels = Object.keys(days).sort();
    if (/^\d{4}-\d{2}-\d{2}$/.test(r.from || '') && /^\d{4}-\d{2}-\d{2}$/.test(r.to || '')) {
      var all = [];
      for (var t = Date.parse(r.from + 'T00:00:00Z'), end = Date.parse(r.to + 'T00:00:00Z'); t <= end && all.length < 400; t += 86400000) {
        all.push(new Date(t).toISOString().slice(0, 10));
      }
      if (all.length) labels = all;
    }
    if (labels.length === 0) {
      box.hidden = true;
      return;
    }
    var series = Object.keys(channels).map(function (ch) {
      return {
        label: ch,
        values: labels.map(function (d) {
          return channels[ch][d] || 0;
        }),
      };
    });
    drawChart(box, labels, series);
  }

  var report = document.getElementById('report');
  if (report) {
    var out = document.getElementById('report-table');
    fetch(report.getAttribute('data-src'), { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) throw new Error((body && body.error && body.error.message) || 'HTTP ' + res.status);
          return body;
        });
      })
      .then(function (r) {
        renderReport(out, r);
        reportChart(document.getElementById('report-chart'), r);
        report.setAttribute('data-loaded', 'true');
      })
      .catch(function (e) {
        out.textContent = '';
        out.appendChild(el('p', 'Отчёт не загрузился: ' + e.message, 'flash error'));
        document.getElementById('report-chart').hidden = true;
        report.setAttribute('data-loaded', 'error');
      });
  }
})();
