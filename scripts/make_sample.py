"""Build the small real EuroSAT sample shipped in sattxt_nb/assets/eurosat_sample (run once by a developer; recorded here
so the sample is reproducible). Takes the first N patches per class (natural order) from ../shared/data/eurosat_ms and
their official RGB twins; MS GeoTIFFs are rewritten with lossless DEFLATE compression (pixel values, band order, CRS and
transform unchanged), RGB jpgs are copied byte for byte."""
import argparse, json, shutil, hashlib
from pathlib import Path
import numpy as np, rasterio

from sattxt_nb.core import shared_data_dir
from sattxt_nb.data.datasets import eurosat_pairs

p = argparse.ArgumentParser(); p.add_argument('--n', type=int, default=5)
p.add_argument('--out', default=str(Path(__file__).resolve().parents[1]/'sattxt_nb'/'assets'/'eurosat_sample'))
a = p.parse_args()
src = shared_data_dir(); out = Path(a.out)
if out.exists(): shutil.rmtree(out)
pairs = eurosat_pairs(src/'eurosat_ms', src/'eurosat_rgb')
pick = pairs.groupby('label', sort=True).head(a.n)
manifest = []
for r in pick.itertuples():
    for kind, path in (('ms', r.ms_path), ('rgb', r.rgb_path)):
        dst = out/kind/r.label/path.name; dst.parent.mkdir(parents=True, exist_ok=True)
        if kind == 'ms':
            with rasterio.open(path) as s:
                prof = s.profile | dict(compress='deflate', predictor=2); arr = s.read()
            with rasterio.open(dst, 'w', **prof) as d: d.write(arr)
            with rasterio.open(dst) as d: assert np.array_equal(d.read(), arr)   # lossless
        else: shutil.copyfile(path, dst)
        manifest.append(dict(file=str(dst.relative_to(out)), source=f"{kind}/{r.label}/{path.name}",
                             sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
(out/'manifest.json').write_text(json.dumps(manifest, indent=1))
(out/'README.md').write_text(f"""# EuroSAT sample (real data)

{len(pick)} real EuroSAT patches ({a.n} per class, the first in natural file order) and their official RGB twins, the
embedded default data of `make demo` and of tests that must run without `../shared/data`.

- Source: EuroSAT (Helber, Bischke, Dengel, Borth: "EuroSAT: A Novel Dataset and Deep Learning Benchmark for Land Use and
  Land Cover Classification", IEEE JSTARS 2019), via the project's shared development copy.
- Licence: MIT (EuroSAT authors), see LICENSE in this folder.
- `ms/<Class>/<Class>_<n>.tif`: Sentinel-2 L1C, 13 bands (file order B01..B12 with **B8A last**), uint16, 64x64, UTM;
  re-written with lossless DEFLATE compression (identical pixel values; checked at creation).
- `rgb/<Class>/<Class>_<n>.jpg`: the official EuroSAT RGB JPEGs of the same patches, byte-identical copies.
- `manifest.json`: each file's source name and the SHA-256 of the source file.
- Re-create with `python scripts/make_sample.py --n {a.n}`.
""")
(out/'LICENSE').write_text("""MIT License (EuroSAT dataset, Patrick Helber et al.)

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
""")
print(f"wrote {len(pick)} pairs to {out}")
