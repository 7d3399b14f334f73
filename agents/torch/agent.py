#!/usr/bin/env python3
"""podium's small GPU agent: an MLP trained with PyTorch on CUDA for the bundled mini benchmark.

Runs under the process runtime (no Docker): the directory contract comes through the environment
(DATA_DIR, SUBMISSION_DIR, CODE_DIR, TIME_LIMIT_SECS, AGENT_SEED) and the GPU podium pinned through
CUDA_VISIBLE_DEVICES. It trains until shortly before its budget, keeping the best model on a seeded
validation split and rewriting SUBMISSION_DIR/submission.csv whenever validation improves.
"""
import time

# The budget runs from the process start: importing torch and initialising CUDA take seconds of it.
t0 = time.monotonic()

import csv
import math
import os
import sys

import torch

limit = float(os.environ.get("TIME_LIMIT_SECS", "60"))
margin = max(5.0, 0.1 * limit)
seed = int(os.environ.get("AGENT_SEED", "1"))
data, out = os.environ["DATA_DIR"], os.environ["SUBMISSION_DIR"]
torch.manual_seed(seed)

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"torch agent: CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r} device={device}"
      + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else " (no CUDA!)"), flush=True)

meta = {}
with open(os.path.join(data, "description.md")) as f:
    for line in f:
        if line.startswith("podium-"):
            k, v = line.strip().split(": ", 1)
            meta[k] = v
task, target = meta["podium-task"], meta["podium-target"]


def read(name):
    with open(os.path.join(data, name)) as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


th, tr = read("train.csv")
eh, te = read("test.csv")
sh, _ = read("sample_submission.csv")
features = [c for c in eh if c != "id"]
fi = [th.index(c) for c in features]
X = torch.tensor([[float(r[i]) for i in fi] for r in tr])
y_raw = torch.tensor([float(r[th.index(target)]) for r in tr])
Xt = torch.tensor([[float(r[eh.index(c)]) for c in features] for r in te])
ids = [r[eh.index("id")] for r in te]
mu, sd = X.mean(0), X.std(0).clamp_min(1e-6)
X, Xt = ((X - mu) / sd).to(device), ((Xt - mu) / sd).to(device)

if task == "regression":
    ym, ys = y_raw.mean(), y_raw.std()
    y = ((y_raw - ym) / ys).to(device)
    outputs = 1
else:
    classes = sorted(set(y_raw.tolist()))
    y = torch.tensor([classes.index(v) for v in y_raw.tolist()]).to(device)
    outputs = len(classes)

g = torch.Generator().manual_seed(seed)
perm = torch.randperm(len(X), generator=g).to(device)
nval = len(X) // 5
val, fit = perm[:nval], perm[nval:]

model = torch.nn.Sequential(
    torch.nn.Linear(X.shape[1], 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
    torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, outputs)).to(device)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)


def loss_fn(logits, target):
    if task == "regression":
        return torch.nn.functional.mse_loss(logits.squeeze(1), target)
    return torch.nn.functional.cross_entropy(logits, target)


def val_metric():
    model.eval()
    with torch.no_grad():
        l = loss_fn(model(X[val]), y[val]).item()
    model.train()
    return l


def write_submission():
    model.eval()
    with torch.no_grad():
        z = model(Xt)
    model.train()
    tmp = os.path.join(out, ".submission.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(sh)
        if task == "regression":
            pred = (z.squeeze(1).cpu() * ys + ym).tolist()
            w.writerows([[i, f"{p:.6f}"] for i, p in zip(ids, pred)])
        elif task == "binary":
            p = torch.softmax(z, 1)[:, classes.index(max(classes))].cpu().tolist()
            w.writerows([[i, f"{v:.6f}"] for i, v in zip(ids, p)])
        elif task == "multiclass-label":
            lab = z.argmax(1).cpu().tolist()
            w.writerows([[i, int(classes[k])] for i, k in zip(ids, lab)])
        else:
            p = torch.softmax(z, 1).cpu()
            cols = [classes.index(float(c.rsplit("_", 1)[1])) for c in sh[1:]]
            w.writerows([[i] + [f"{p[r, k]:.6f}" for k in cols] for r, i in enumerate(ids)])
    os.replace(tmp, os.path.join(out, "submission.csv"))


best, epoch = math.inf, 0
while time.monotonic() - t0 < limit - margin:
    epoch += 1
    for b in fit[torch.randperm(len(fit), device=device)].split(64):
        opt.zero_grad()
        loss_fn(model(X[b]), y[b]).backward()
        opt.step()
    v = val_metric()
    if v < best:
        best = v
        write_submission()
    if epoch % 25 == 0 or epoch < 4:
        print(f"epoch {epoch} ({time.monotonic() - t0:.1f} s): validation loss {v:.4f} (best {best:.4f})", flush=True)
    time.sleep(0.02)

mem = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0
print(f"torch agent: done after {epoch} epochs, {time.monotonic() - t0:.1f} s, best validation loss {best:.4f}, "
      f"peak CUDA memory {mem:.1f} MiB", flush=True)
sys.exit(0 if device.type == "cuda" or os.environ.get("ALLOW_CPU") else 4)
