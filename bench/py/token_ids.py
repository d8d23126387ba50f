"""Token ids (77 per text, EOT-padded as the Transformers.js text model expects) of the benchmark captions,
for the Node.js contender, which has no CLIP tokenizer of its own."""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_test_models as mtm  # noqa: E402
from embed_torch import texts  # noqa: E402

corpus, n, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
tok = mtm.ClipTokenizer(corpus / "clip" / "bpe_simple_vocab_16e6.txt.gz")
out.write_text(json.dumps([tok.context(t, pad_id=mtm.EOT) for t in texts(n)]))
