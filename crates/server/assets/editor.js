// 政策管理 editor: live diagnostics. The form works without this script (检查 / 保存 buttons);
// with it, the text is checked as the author types — 0.8 s after the last key — through the
// API's check-file operation (nothing is saved), and the diagnostics of this file are shown
// with their line and column in #live, announced politely to screen readers.
(function () {
  'use strict';
  var form = document.getElementById('editor');
  var text = document.getElementById('text');
  var live = document.getElementById('live');
  if (!form || !text || !live) return;
  var version = form.getAttribute('data-version');
  var path = form.querySelector('input[name="path"]').value;
  var csrf = form.querySelector('input[name="csrf"]').value;
  var en = document.documentElement.lang === 'en';
  var timer = null;
  var seq = 0;
  function show(check) {
    var mine = (check.diagnostics || []).filter(function (d) { return d.path === path; });
    live.textContent = '';
    var p = document.createElement('p');
    p.className = check.ready ? 'ok' : (mine.length ? 'no' : 'muted');
    p.textContent = mine.length
      ? (en ? mine.length + ' diagnostic(s) in this file:' : '本文件有 ' + mine.length + ' 条诊断:')
      : check.ready
        ? (en ? 'No diagnostic; the draft is ready.' : '没有诊断,草稿可以提交。')
        : (en ? 'No diagnostic in this file; the draft is not ready yet: ' : '本文件没有诊断;草稿尚不能提交:') +
          (check.blockers || []).join('; ');
    live.appendChild(p);
    if (!mine.length) return;
    var ul = document.createElement('ul');
    mine.forEach(function (d) {
      var li = document.createElement('li');
      li.className = 'live-diagnostic';
      li.setAttribute('data-line', d.line);
      li.setAttribute('data-column', d.column);
      li.textContent = (en ? 'line ' : '第') + d.line + (en ? ', column ' : '行第') + d.column + (en ? ': ' : '列:') + d.message;
      ul.appendChild(li);
    });
    live.appendChild(ul);
  }
  function check() {
    var mine = ++seq;
    fetch('/api/policy/versions/' + version + '/check-file', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ path: path, text: text.value }),
      credentials: 'same-origin',
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j && mine === seq) show(j); })
      .catch(function () {});
  }
  text.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(check, 800);
  });
})();
