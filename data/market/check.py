#!/usr/bin/env python3
"""Validator for the S&T market evaluation sample (data/market/sample) and the
domain dictionary (data/market/synonyms.txt). Run: python3 data/market/check.py
It reads the files, checks structure and codes, and prints the count figures."""
import csv, os, re, sys, collections
HERE = os.path.dirname(os.path.abspath(__file__))
S = os.path.join(HERE, 'sample')
FIELDS = {'intelligent_manufacturing','advanced_equipment','new_materials','metallurgy','chemical',
          'biomedicine','electronic_information','new_energy','new_energy_vehicles','energy_saving',
          'modern_agriculture','light_textile'}
REGIONS = set('heping shenhe dadong huanggu tiexi sujiatun hunnan shenbei yuhong liaozhong kangping faku xinmin shenyang liaoning '
              'dongchangfu chiping linqing yanggu shenxian donge guanxian gaotang liaocheng_hitech_zone liaocheng_econ_zone jiangbei_resort '
              'liaocheng jinan other'.split())
MATURITY = {'lab','small_pilot','pilot','industrial'}
KINDS = {'university','research_institute','enterprise'}
MODES = {'转让','许可','作价入股','合作开发'}
# bigrams too generic to count as a shared word
TRIVIAL = {'技术','公司','生产','企业','产品','问题','需要','可以','进行','应用','实现','使用','提高','降低','以上','以内','一个','要求','时间','个月','分钟','小时','一年','一次','好几','几个','以下'}
errs = []
def err(m): errs.append(m)
def load(name, header):
    with open(os.path.join(S, name), encoding='utf-8', newline='') as f:
        r = csv.reader(f); h = next(r)
        if h != header: err(f'{name}: header {h}')
        rows = [dict(zip(header, x)) for x in r]
        for i, x in enumerate(rows):
            if len(x) != len(header): err(f'{name}: row {i+2} has wrong column count')
        return rows
A = load('achievements.csv', 'id,title,owner,owner_kind,field,keywords,abstract,maturity,ip,transfer_mode,price,region,contact'.split(','))
D = load('demands.csv', 'id,title,enterprise,field,problem,budget,deadline,region,maturity,contact'.split(','))
L = load('labels.csv', ['demand','achievement','relevance'])
cjk = lambda s: len(re.findall(r'[\u4e00-\u9fff]', s))
money = re.compile(r'^(\d+(\.\d{1,2})?)?$')
ids = collections.Counter(a['id'] for a in A)
for k, v in ids.items():
    if v > 1: err(f'duplicate achievement {k}')
for a in A:
    if not re.fullmatch(r'CG\d{4}', a['id']): err(f"bad id {a['id']}")
    if a['field'] not in FIELDS: err(f"{a['id']} field {a['field']}")
    if a['owner_kind'] not in KINDS: err(f"{a['id']} kind")
    if a['maturity'] not in MATURITY: err(f"{a['id']} maturity")
    if a['transfer_mode'] not in MODES: err(f"{a['id']} mode")
    if a['region'] not in REGIONS: err(f"{a['id']} region {a['region']}")
    if not money.match(a['price']): err(f"{a['id']} price")
    kw = a['keywords'].split('；')
    if not 3 <= len(kw) <= 6 or any(not k for k in kw): err(f"{a['id']} keywords {len(kw)}")
    n, m = cjk(a['abstract']), len(a['abstract'])
    if n < 60 or m > 200: err(f"{a['id']} abstract {n} Chinese characters, {m} characters in all")
dids = collections.Counter(d['id'] for d in D)
for k, v in dids.items():
    if v > 1: err(f'duplicate demand {k}')
for d in D:
    if not re.fullmatch(r'XQ\d{4}', d['id']): err(f"bad id {d['id']}")
    if d['field'] not in FIELDS: err(f"{d['id']} field")
    if d['region'] not in REGIONS: err(f"{d['id']} region {d['region']}")
    if d['maturity'] not in MATURITY | {''}: err(f"{d['id']} maturity")
    if not money.match(d['budget']): err(f"{d['id']} budget")
    if d['deadline'] and not re.fullmatch(r'202[678]-\d\d-\d\d', d['deadline']): err(f"{d['id']} deadline")
    n, m = cjk(d['problem']), len(d['problem'])
    if n < 40 or m > 150: err(f"{d['id']} problem {n} Chinese characters, {m} characters in all")
Am = {a['id']: a for a in A}; Dm = {d['id']: d for d in D}
seen = set(); pos = collections.defaultdict(int); rel = collections.Counter()
for l in L:
    if l['demand'] not in Dm: err(f"label demand {l['demand']}")
    if l['achievement'] not in Am: err(f"label achievement {l['achievement']}")
    if l['relevance'] not in ('0','1','2'): err(f"label relevance {l}")
    key = (l['demand'], l['achievement'])
    if key in seen: err(f'duplicate label {key}')
    seen.add(key); rel[l['relevance']] += 1
    if l['relevance'] in ('1','2'): pos[l['demand']] += 1
labelled = {l['demand'] for l in L}
for d in labelled:
    if pos[d] == 0: err(f'{d} has no positive label')
def bigrams(s):
    out = set()
    for run in re.findall(r'[\u4e00-\u9fff]+', s):
        out |= {run[i:i+2] for i in range(len(run)-1)}
    return out
def shared(l):
    d = Dm[l['demand']]; a = Am[l['achievement']]
    return bigrams(d['title'] + d['problem']) & bigrams(a['title'] + a['keywords'] + a['abstract'])
strict = loose = 0
for l in L:
    if l['relevance'] in ('1','2') and l['demand'] in Dm and l['achievement'] in Am:
        s = shared(l)
        if not s: strict += 1
        if not (s - TRIVIAL): loose += 1
# dictionary
groups = []; terms = collections.Counter()
syn = os.path.join(HERE, 'synonyms.txt')
if os.path.exists(syn):
    for ln in open(syn, encoding='utf-8'):
        ln = ln.strip()
        if not ln or ln.startswith('#'): continue
        g = [t.strip() for t in re.split(r'[,，]', ln) if t.strip()]
        groups.append(g); terms.update(set(g))
    for t, c in terms.items():
        if c > 1: err(f'dictionary term in {c} groups: {t}')
# dictionary coverage of no-shared-word positives
def covered(l):
    d = Dm[l['demand']]; a = Am[l['achievement']]
    dt = d['title'] + d['problem']; at = a['title'] + a['keywords'] + a['abstract']
    return any(any(t in dt for t in g) and any(t in at for t in g) for g in groups)
unc = [l for l in L if l['relevance'] in ('1','2') and not (shared(l) - TRIVIAL) and not covered(l)]
if '-v' in sys.argv:
    for l in L:
        if l['relevance'] in ('1','2'):
            s = shared(l) - TRIVIAL
            print(l['demand'], l['achievement'], l['relevance'], ' '.join(sorted(s)) if s else '-- NONE --', '' if covered(l) else 'UNCOVERED')
if '-u' in sys.argv:
    for l in unc: print('uncovered', l['demand'], l['achievement'], Dm[l['demand']]['title'], '|', Am[l['achievement']]['title'])
print(f"achievements {len(A)}  demands {len(D)}  labels {len(L)} (2: {rel['2']}, 1: {rel['1']}, 0: {rel['0']})")
print(f"demands labelled {len(labelled)}  positives with no shared CJK bigram: strict {strict}, ignoring trivial {loose}")
print(f"dictionary groups {len(groups)}  terms {len(terms)}  no-shared positives not bridged by dictionary {len(unc)}")
for e in errs[:60]: print('ERROR', e)
print('OK' if not errs else f'{len(errs)} errors')
sys.exit(1 if errs else 0)
