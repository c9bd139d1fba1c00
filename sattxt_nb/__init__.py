__version__ = "0.0.1"

import warnings as _warnings
# fastai (2.8.7) scripts a layer with `torch.jit.script` at import time, which torch 2.14 flags as deprecated: a warning
# every user would see on `import sattxt_nb...` that says nothing about their code. Only that message is silenced.
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
