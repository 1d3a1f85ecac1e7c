#!/usr/bin/env python3
"""llama.cpp's llama-bench on the same CPU and model as Steer's benchmarks: an optional, reproducible comparison.

Usage:
  STEER_VENV=... scripts/py.sh scripts/bench_llamacpp.py MODEL [--outtype f32,bf16] [--threads 2] [--repeat 5]
      [--work DIR] [--sdist FILE] [--tokenizer DIR] [--json FILE]

MODEL is a Hugging Face folder (config.json + *.safetensors), e.g. /tmp/qwen2-0.5b-shape from
scripts/make_bench_model.py. One command does its own setup, cached under --work (default ~/.cache/steer/llama.cpp):

1. llama.cpp source: the PyPI sdist of llama-cpp-python 0.3.36 (it vendors llama.cpp, with convert_hf_to_gguf.py and
   gguf-py, and carries the submodule's git metadata, from which the commit is read). Downloaded from
   files.pythonhosted.org unless already in the work folder (or given with --sdist), checked against SDIST_SHA256,
   unpacked. Build tools come from PyPI too: when no cmake is on PATH, the `cmake` wheel, with `sentencepiece`
   (a converter requirement: without it the Qwen2 converter fails before it falls back to the BPE vocab), is
   installed with pip --target into WORK/pydeps (the virtual environment is not changed).
2. Build: CPU only, Release, GGML_NATIVE=ON (-march=native), static, no tests / examples / server / app, no
   OpenSSL (LLAMA_CURL is deprecated and ignored by this llama.cpp, so it is not passed); only the llama-bench target,
   under nice -n 19 with -j (default 2). Output goes to WORK/build.log; its tail is printed if the build fails.
3. Convert MODEL to GGUF for each --outtype with convert_hf_to_gguf.py (cached under WORK/gguf/, keyed by the model's
   path, its safetensors' sizes and mtimes, the outtype and the llama.cpp commit).
4. llama-bench -m GGUF -t THREADS -p 64,512 -n 128 -r REPEAT -o json (default batch sizes) per GGUF, and a table:
   prompt-processing and generation tokens/s (mean +- sd over the repetitions, as llama-bench reports them), the weight
   bytes read per generated token and the bandwidth they imply (bytes x tg128 tokens/s).

Bytes per generated token: the sum of the GGUF's tensor sizes, less the token embedding (token_embd.weight) when the
model has its own output head (output.weight), since decoding reads one embedding row; with tied embeddings (no
output.weight, as Qwen2-0.5B) the embedding matrix is the output head and is counted. The KV cache and activations
are not counted, so the GB/s is a lower bound on the traffic.

Tokenizer: convert_hf_to_gguf.py needs tokenizer files. When MODEL has none (the random bench models), a temporary
folder in WORK gets symlinks to MODEL's config and safetensors (MODEL is never modified) and a copy of --tokenizer's
tokenizer.json / tokenizer_config.json (default models/refusal-demo, the demo tokenizer the other benches use: BPE,
1,024 tokens + 3 special, with Qwen2's pre-tokenizer regex). The converter keeps the model's vocab_size (151936) and
pads the vocabulary with unused [PADn] tokens, so the weights and shapes are the model's own. One workaround: the
converter identifies the BPE pre-tokenizer by hashing the tokenization of a test string and refuses a tokenizer it
does not know; for a substituted tokenizer only, the script makes that check answer "qwen2" (llama.cpp's name for the
same regex) instead of failing. llama-bench feeds random token ids, so the vocabulary does not affect the timings.

Shared machines: other work on the CPUs slows llama-bench down a lot (its threads spin at barriers), so the table
shows how busy the CPUs were in the 2 s before each run and the load average; --wait-idle S waits for idle CPUs. --json FILE writes every figure
(atomically: a temporary file, then a rename).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_info import cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SDIST_NAME = "llama_cpp_python-0.3.36.tar.gz"
SDIST_URL = ("https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/"
             + SDIST_NAME)
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
SDIST_TOP = "llama_cpp_python-0.3.36"
PYDEPS = ["cmake>=3.18,<5", "sentencepiece>=0.1.98,<0.3.0"]
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_CUDA=OFF", "-DGGML_METAL=OFF", "-DGGML_VULKAN=OFF", "-DGGML_CCACHE=OFF",
    "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=OFF",
    "-DLLAMA_BUILD_APP=OFF", "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_COMMON=ON",
]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "merges.txt"]
SUBSTITUTE_PRE = "qwen2"
X86_FEATURES = ["AVX", "AVX2", "F16C", "FMA", "AVXVNNI", "AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ", "AVX512VNNI",
                "AVX512BF16", "AMX_TILE", "AMX_INT8", "AMX_BF16"]

# Runs the vendored converter; for a substituted tokenizer (argv[2] non-empty) an unrecognized BPE pre-tokenizer
# is answered with argv[2] instead of NotImplementedError.
CONVERT_WRAPPER = r'''
import logging, sys
src, pre = sys.argv[1], sys.argv[2]
sys.path[:0] = [src, src + "/gguf-py"]
sys.argv = [src + "/convert_hf_to_gguf.py"] + sys.argv[3:]
import convert_hf_to_gguf as conv
if pre:
    from conversion import base
    original = base.TextModel.get_vocab_base_pre
    def get_vocab_base_pre(self, tokenizer):
        try:
            return original(self, tokenizer)
        except NotImplementedError:
            logging.getLogger("bench_llamacpp").warning(
                "substituted tokenizer: pre-tokenizer hash not in the converter's list; writing tokenizer.ggml.pre=%r", pre)
            return pre
    base.TextModel.get_vocab_base_pre = get_vocab_base_pre
conv.main()
'''


class Failure(Exception):
    """An expected failure: printed without a traceback, exit status 1."""


T0 = time.time()


def say(msg: str):
    print(f"{time.time() - T0:7.1f}s  {msg}", flush=True)


def tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_atomic(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------------- source

def fetch_sdist(work: Path, local: Path | None) -> Path:
    """The verified sdist in WORK (copied from --sdist, or downloaded from PyPI when missing)."""
    dst = work / SDIST_NAME
    if dst.exists() and sha256_of(dst) == SDIST_SHA256:
        return dst
    part = work / (SDIST_NAME + ".part")
    if local is not None:
        if not local.is_file():
            raise Failure(f"--sdist {local}: no such file")
        say(f"copying {local}")
        shutil.copyfile(local, part)
    else:
        say(f"downloading {SDIST_URL}")
        try:
            with urllib.request.urlopen(SDIST_URL, timeout=60) as r, open(part, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except OSError as e:
            part.unlink(missing_ok=True)
            raise Failure(f"download failed: {e}\n(put {SDIST_NAME} in {work} or pass --sdist FILE)")
    got = sha256_of(part)
    if got != SDIST_SHA256:
        part.unlink(missing_ok=True)
        raise Failure(f"{SDIST_NAME}: sha256 {got}, expected {SDIST_SHA256}")
    os.replace(part, dst)
    say(f"sdist ok ({dst.stat().st_size / 1e6:.1f} MB, sha256 {SDIST_SHA256[:12]}...)")
    return dst


def unpack(work: Path, sdist: Path) -> Path:
    """The unpacked llama.cpp source tree (WORK/src/.../vendor/llama.cpp)."""
    top = work / "src" / SDIST_TOP
    stamp = work / "src" / ".unpacked"
    if not (stamp.exists() and stamp.read_text() == SDIST_SHA256):
        say("unpacking")
        shutil.rmtree(work / "src", ignore_errors=True)
        (work / "src").mkdir(parents=True)
        with tarfile.open(sdist) as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(work / "src", filter="data")
            else:
                tf.extractall(work / "src")
        stamp.write_text(SDIST_SHA256)
    src = top / "vendor" / "llama.cpp"
    if not (src / "CMakeLists.txt").exists() or not (src / "convert_hf_to_gguf.py").exists():
        raise Failure(f"{src}: not a llama.cpp tree (the sdist's layout changed?)")
    return src


def versions(src: Path) -> dict:
    """llama-cpp-python's version, the vendored llama.cpp commit (from the sdist's git metadata), ggml's version."""
    top = src.parent.parent
    v = {"package": "llama-cpp-python", "package_version": None, "llama_cpp_commit": None, "ggml_version": None,
         "sdist_sha256": SDIST_SHA256}
    m = re.search(r"^Version:\s*(\S+)", (top / "PKG-INFO").read_text(errors="replace"), re.M)
    v["package_version"] = m.group(1) if m else None
    head = top / ".git" / "modules" / "vendor" / "llama.cpp" / "HEAD"
    if head.exists():
        h = head.read_text().strip()
        v["llama_cpp_commit"] = h if re.fullmatch(r"[0-9a-f]{40}", h) else None
    g = (src / "ggml" / "CMakeLists.txt").read_text(errors="replace")
    parts = [re.search(rf"set\(GGML_VERSION_{k}\s+(\d+)\)", g) for k in ("MAJOR", "MINOR", "PATCH")]
    if all(parts):
        v["ggml_version"] = ".".join(p.group(1) for p in parts)
    return v


# ---------------------------------------------------------------------------------------------------- tools, build

def pydeps(work: Path) -> Path:
    """WORK/pydeps with cmake and sentencepiece from PyPI (pip --target), installed once."""
    target = work / "pydeps"
    stamp = target / ".installed"
    if stamp.exists() and stamp.read_text() == json.dumps(PYDEPS):
        return target
    say(f"pip install --target {target} {' '.join(PYDEPS)}")
    shutil.rmtree(target, ignore_errors=True)
    log = work / "pip.log"
    with open(log, "w") as f:
        rc = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                             "--target", str(target)] + PYDEPS, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise Failure(f"pip install failed ({rc}); {log}:\n{tail(log)}")
    stamp.write_text(json.dumps(PYDEPS))
    return target


def find_cmake(deps: Path) -> str:
    exe = shutil.which("cmake")
    if exe:
        return exe
    for cand in (deps / "cmake" / "data" / "bin" / "cmake", deps / "bin" / "cmake"):
        if cand.exists():
            return str(cand)
    raise Failure(f"no cmake on PATH and none in {deps}")


def native_features() -> list[str]:
    """The x86 features -march=native turns on with this compiler (what GGML_NATIVE compiles for)."""
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    try:
        out = subprocess.run([cc, "-march=native", "-dM", "-E", "-"], input="", capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    macros = set(re.findall(r"#define __(\w+)__ 1", out))
    return [f for f in X86_FEATURES if f in macros]


def compiler_version() -> str:
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def run_logged(cmd: list[str], log, cwd=None, progress=False, env=None, echo=True) -> int:
    """Runs cmd with its output appended to the open log file; with progress, prints cmake's [ NN%] every 10%."""
    if echo:
        log.write(f"\n$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            errors="replace")
    shown = -10
    for line in iter(proc.stdout.readline, ""):
        log.write(line)
        m = re.match(r"\[\s*(\d+)%\]", line)
        if progress and m and int(m.group(1)) >= shown + 10:
            shown = int(m.group(1))
            say(f"  build {shown:3d}%  {line[m.end():].strip()[:90]}")
    return proc.wait()


def build(work: Path, src: Path, ver: dict, jobs: int, deps: Path) -> tuple[Path, dict]:
    """llama-bench, built once per (source, flags, compiler); returns its path and the build record."""
    bdir = work / "build"
    exe = bdir / "bin" / "llama-bench"
    record_path = work / "build.json"
    commit = (ver["llama_cpp_commit"] or "unknown")[:7]
    flags = CMAKE_FLAGS + [f"-DLLAMA_BUILD_COMMIT={commit}"]
    key = {"sdist": SDIST_SHA256, "flags": flags, "compiler": compiler_version()}
    if record_path.exists() and exe.exists():
        record = json.loads(record_path.read_text())
        if record.get("key") == key:
            say(f"llama-bench cached ({exe}, built in {record['build_s']:.0f} s)")
            return exe, record
    cmake = find_cmake(deps)
    cmake_version = subprocess.run([cmake, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    log_path = work / "build.log"
    record_path.unlink(missing_ok=True)
    nice = ["nice", "-n", "19"] if shutil.which("nice") else []
    configure = nice + [cmake, "-S", str(src), "-B", str(bdir)] + flags
    compile_ = nice + [cmake, "--build", str(bdir), "--config", "Release", "--target", "llama-bench", "-j", str(jobs)]
    say(f"building llama-bench ({cmake_version}, {key['compiler']}, -j{jobs}); log {log_path}")
    t = time.time()
    with open(log_path, "w") as log:
        for step, cmd in (("configure", configure), ("build", compile_)):
            rc = run_logged(cmd, log, progress=step == "build")
            if rc != 0:
                log.close()
                raise Failure(f"llama.cpp {step} failed (exit {rc}); last lines of {log_path}:\n{tail(log_path)}")
    if not exe.exists():
        raise Failure(f"build finished but {exe} is missing; see {log_path}")
    build_s = time.time() - t
    log_text = log_path.read_text(errors="replace")
    cmake_lines = [ln.strip() for ln in log_text.splitlines()
                   if re.search(r"x86 detected|Adding CPU backend variant|ARCH_FLAGS|OpenMP found|-march", ln)]
    record = {"key": key, "build_s": build_s, "cmake": cmake_version, "configure": configure, "build": compile_,
              "march_native_features": native_features(), "cmake_cpu_lines": cmake_lines[:8]}
    write_atomic(record_path, json.dumps(record, indent=1))
    say(f"built in {build_s:.0f} s")
    return exe, record


# ---------------------------------------------------------------------------------------------------- conversion

def model_key(model: Path, commit: str, extra: str) -> tuple[str, list[Path]]:
    files = sorted(model.glob("*.safetensors"))
    if not files:
        raise Failure(f"{model}: no *.safetensors")
    parts = [str(model.resolve()), commit, extra]
    for f in files:
        st = f.stat()
        parts.append(f"{f.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16], files


def convert_input(model: Path, tokenizer: Path, work: Path, key: str) -> tuple[Path, bool]:
    """The folder the converter reads: MODEL itself when it has a tokenizer, else symlinks + --tokenizer's files."""
    if any((model / f).exists() for f in TOKENIZER_FILES):
        return model, False
    if not (tokenizer / "tokenizer.json").exists():
        raise Failure(f"{model} has no tokenizer files and {tokenizer}/tokenizer.json does not exist (--tokenizer DIR)")
    staged = work / "convert-input" / key
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    for f in model.iterdir():
        if f.is_file() and (f.suffix == ".safetensors" or f.name in ("config.json", "generation_config.json")
                            or f.name.endswith(".safetensors.index.json")):
            (staged / f.name).symlink_to(f.resolve())
    for name in TOKENIZER_FILES:
        if (tokenizer / name).exists():
            shutil.copyfile(tokenizer / name, staged / name)
    return staged, True


def convert(model: Path, src: Path, work: Path, outtypes: list[str], commit: str, tokenizer: Path,
            deps: Path) -> list[tuple[str, Path, dict]]:
    """GGUF files of MODEL, one per outtype, converted once into WORK/gguf/NAME-KEY/model-OUTTYPE.gguf."""
    key, _ = model_key(model, commit, str(tokenizer.resolve()))
    out_dir = work / "gguf" / f"{model.resolve().name}-{key}"
    out_dir.mkdir(parents=True, exist_ok=True)
    done, inp, substituted = [], None, False
    try:
        for outtype in outtypes:
            out = out_dir / f"model-{outtype}.gguf"
            meta_path = out_dir / f"model-{outtype}.json"
            if out.exists() and meta_path.exists():
                meta = json.loads(meta_path.read_text())
                if "weights" not in meta:
                    meta["weights"] = gguf_weights(out, src)
                    write_atomic(meta_path, json.dumps(meta, indent=1))
                say(f"{outtype}: GGUF cached ({out})")
                done.append((outtype, out, meta))
                continue
            if inp is None:
                inp, substituted = convert_input(model, tokenizer, work, key)
            tmp = out_dir / f".model-{outtype}.gguf.tmp"
            log_path = out_dir / f"convert-{outtype}.log"
            args = [str(inp), "--model-name", model.resolve().name, "--outtype", outtype, "--outfile"]
            cmd = [sys.executable, "-c", CONVERT_WRAPPER, str(src), SUBSTITUTE_PRE if substituted else ""] + args
            shown = ["convert_hf_to_gguf.py"] + args + [str(out)]
            say(f"{outtype}: converting ({' '.join(shown)}); log {log_path}")
            t = time.time()
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(deps)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
            nice = ["nice", "-n", "19"] if shutil.which("nice") else []
            with open(log_path, "w") as log:
                log.write(f"$ {' '.join(shown)}  (through {Path(__file__).name}'s wrapper, "
                          f"pre-tokenizer fallback {SUBSTITUTE_PRE if substituted else 'off'})\n")
                rc = run_logged(nice + cmd + [str(tmp)], log, env=env, echo=False)
            if rc != 0 or not tmp.exists():
                tmp.unlink(missing_ok=True)
                raise Failure(f"convert_hf_to_gguf.py --outtype {outtype} failed (exit {rc}); last lines of {log_path}:\n"
                              f"{tail(log_path)}")
            os.replace(tmp, out)
            log_text = log_path.read_text(errors="replace")
            meta = {"convert_s": time.time() - t, "command": shown,
                    "substituted_tokenizer": str(tokenizer) if substituted else None,
                    "pre_tokenizer_forced": SUBSTITUTE_PRE if "writing tokenizer.ggml.pre" in log_text else None,
                    "weights": gguf_weights(out, src)}
            write_atomic(meta_path, json.dumps(meta, indent=1))
            say(f"{outtype}: {out.stat().st_size / 1e6:.1f} MB in {meta['convert_s']:.0f} s")
            done.append((outtype, out, meta))
    finally:
        if substituted:
            shutil.rmtree(inp, ignore_errors=True)
    return done


def gguf_weights(path: Path, src: Path) -> dict:
    """Tensor bytes of a GGUF: total, and read per generated token (see the docstring)."""
    sys.path.insert(0, str(src / "gguf-py"))
    try:
        from gguf import GGUFReader
    finally:
        sys.path.pop(0)
    reader = GGUFReader(str(path))
    vocab = reader.fields.get("tokenizer.ggml.tokens")
    sizes = {t.name: int(t.n_bytes) for t in reader.tensors}
    types = sorted({t.tensor_type.name for t in reader.tensors})
    total = sum(sizes.values())
    tied = "output.weight" not in sizes
    per_token = total if tied else total - sizes.get("token_embd.weight", 0)
    counted = ("all tensors (tied embeddings: token_embd.weight is the output head)" if tied
               else "all tensors except token_embd.weight (untied: output.weight is the head)")
    return {"tensor_bytes": total, "bytes_per_token": per_token, "counted": counted, "tied": tied,
            "n_tensors": len(sizes), "tensor_types": types, "file_bytes": path.stat().st_size,
            "n_vocab": len(vocab.data) if vocab is not None else None}


# ---------------------------------------------------------------------------------------------------- benchmark

def cpu_busy(seconds: float = 2.0) -> float | None:
    """The fraction of all CPUs busy (from /proc/stat) over the next `seconds`: other work on a shared machine."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + (v[4] if len(v) > 4 else 0)
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return 1 - (i1 - i0) / (t1 - t0) if t1 > t0 else None


def wait_idle(limit: float, threshold: float = 0.1) -> float | None:
    """The CPU busy fraction just before a run; with limit > 0, first waits (up to limit s) for it to be < threshold."""
    busy = cpu_busy()
    t = time.time()
    if limit > 0 and busy is not None and busy >= threshold:
        say(f"CPUs {busy:.0%} busy: waiting up to {limit:.0f} s for them to be idle")
        while busy is not None and busy >= threshold and time.time() - t < limit:
            busy = cpu_busy(5.0)
        say(f"CPUs {busy:.0%} busy after {time.time() - t:.0f} s; running")
    return busy


def llama_bench(exe: Path, gguf: Path, threads: int, repeat: int, prompts: str, gen: int) -> tuple[list, list, str]:
    cmd = [str(exe), "-m", str(gguf), "-t", str(threads), "-p", prompts, "-n", str(gen), "-r", str(repeat), "-o", "json"]
    say(f"$ {' '.join(cmd)}")
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise Failure(f"llama-bench failed (exit {proc.returncode}):\n" + "\n".join(proc.stderr.splitlines()[-30:]))
    try:
        rows = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise Failure(f"llama-bench printed no JSON:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return cmd, rows, proc.stderr


def test_name(row: dict) -> str:
    if row.get("n_prompt") and row.get("n_gen"):
        return f"pp{row['n_prompt']}+tg{row['n_gen']}"
    return f"pp{row['n_prompt']}" if row.get("n_prompt") else f"tg{row['n_gen']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="Hugging Face model folder (config.json + *.safetensors)")
    ap.add_argument("--outtype", default="f32,bf16", help="GGUF types to convert and bench, comma-separated "
                    "(f32, bf16, f16, q8_0; default f32,bf16)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5, help="llama-bench -r (default 5)")
    ap.add_argument("--prompts", default="64,512", help="llama-bench -p (default 64,512)")
    ap.add_argument("--gen", type=int, default=128, help="llama-bench -n (default 128)")
    ap.add_argument("--work", type=Path, default=Path("~/.cache/steer/llama.cpp").expanduser(),
                    help="cache folder for the source, build and GGUFs (default ~/.cache/steer/llama.cpp)")
    ap.add_argument("--sdist", type=Path, help=f"a local copy of {SDIST_NAME} (else downloaded from PyPI)")
    ap.add_argument("--tokenizer", type=Path, default=ROOT / "models/refusal-demo",
                    help="tokenizer folder used when MODEL has none (default models/refusal-demo)")
    ap.add_argument("--jobs", type=int, default=2, help="build jobs (default 2)")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="S",
                    help="before each llama-bench run, wait up to S seconds for the CPUs to be < 10%% busy (default 0)")
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    args = ap.parse_args()

    outtypes = [t.strip() for t in args.outtype.split(",") if t.strip()]
    bad = [t for t in outtypes if t not in ("f32", "bf16", "f16", "q8_0")]
    if bad or not outtypes:
        raise Failure(f"--outtype: unknown {bad or 'empty'} (f32, bf16, f16, q8_0)")
    model = args.model.expanduser()
    if not model.is_dir():
        raise Failure(f"{model}: no such model folder (make one with scripts/make_bench_model.py)")
    if not (model / "config.json").exists():
        raise Failure(f"{model}: no config.json")
    model_key(model, "", "")  # fails early without safetensors
    if args.threads < 1 or args.repeat < 1:
        raise Failure("--threads and --repeat must be at least 1")
    work = args.work.expanduser().resolve()
    work.mkdir(parents=True, exist_ok=True)

    sdist = fetch_sdist(work, args.sdist)
    src = unpack(work, sdist)
    ver = versions(src)
    say(f"llama.cpp {ver['llama_cpp_commit']} (llama-cpp-python {ver['package_version']} sdist, ggml {ver['ggml_version']})")
    deps = pydeps(work)
    exe, brec = build(work, src, ver, args.jobs, deps)

    ggufs = [(t, path, meta, meta.pop("weights")) for t, path, meta in
             convert(model, src, work, outtypes, ver["llama_cpp_commit"] or "unknown", args.tokenizer, deps)]

    load0 = os.getloadavg()[0]
    results = []
    for t, path, meta, w in ggufs:
        busy = wait_idle(args.wait_idle)
        cmd, rows, stderr = llama_bench(exe, path, args.threads, args.repeat, args.prompts, args.gen)
        tests = {test_name(r): {"mean_ts": r["avg_ts"], "sd_ts": r["stddev_ts"], "samples_ts": r.get("samples_ts"),
                                "n_batch": r.get("n_batch"), "n_ubatch": r.get("n_ubatch")} for r in rows}
        tg = tests.get(f"tg{args.gen}")
        results.append({"dtype": t, "gguf": str(path), "weights": w, "convert": meta, "command": cmd, "tests": tests,
                        "cpu_busy_before": busy,
                        "gb_per_s": tg["mean_ts"] * w["bytes_per_token"] / 1e9 if tg else None,
                        "llama_bench": {k: rows[0].get(k) for k in ("build_commit", "build_number", "cpu_info",
                                                                    "backends", "model_type", "model_size",
                                                                    "model_n_params", "n_threads", "type_k", "type_v",
                                                                    "flash_attn", "n_batch", "n_ubatch")} if rows else {}})
    load1 = os.getloadavg()[0]

    # ------------------------------------------------------------------ report
    names = [f"pp{p.strip()}" for p in args.prompts.split(",") if p.strip()] + [f"tg{args.gen}"]
    print()
    print(f"llama.cpp {ver['llama_cpp_commit']} (llama-cpp-python {ver['package_version']} sdist, ggml "
          f"{ver['ggml_version']}), llama-bench build {results[0]['llama_bench'].get('build_commit')}; built in "
          f"{brec['build_s']:.0f} s with {brec['key']['compiler']}, GGML_NATIVE (-march=native: "
          f"{' '.join(brec['march_native_features']) or '?'})")
    print(f"CPU {cpu_model()}, {os.cpu_count()} logical CPUs; threads {args.threads}, repeat {args.repeat}; "
          f"load average {load0:.2f} before, {load1:.2f} after")
    print(f"model {model} ({results[0]['llama_bench'].get('model_n_params')} parameters)")
    head = f"{'dtype':<6} {'GGUF MB':>8} " + " ".join(f"{n + ' t/s':>15}" for n in names) + \
        f" {'weights MB/token':>17} {'GB/s':>6} {'busy':>5}"
    print(head)
    print("-" * len(head))
    for r in results:
        cells = []
        for n in names:
            x = r["tests"].get(n)
            cells.append(f"{x['mean_ts']:8.2f} ± {x['sd_ts']:4.2f}" if x else f"{'-':>15}")
        gbs = f"{r['gb_per_s']:6.2f}" if r["gb_per_s"] is not None else f"{'-':>6}"
        print(f"{r['dtype']:<6} {r['weights']['file_bytes'] / 1e6:8.1f} " + " ".join(f"{c:>15}" for c in cells)
              + f" {r['weights']['bytes_per_token'] / 1e6:17.1f} {gbs} "
              + (f"{r['cpu_busy_before']:5.0%}" if r["cpu_busy_before"] is not None else f"{'?':>5}"))
    print(f"weights per token: {results[0]['weights']['counted']}; KV cache not counted. GB/s = weights x tg t/s. "
          f"busy: CPU use by other work in the 2 s before the run.")
    conv = results[0]["convert"]
    if conv.get("substituted_tokenizer"):
        forced = f"; pre-tokenizer '{conv['pre_tokenizer_forced']}' forced" if conv.get("pre_tokenizer_forced") else ""
        print(f"tokenizer: {conv['substituted_tokenizer']} (MODEL has none), vocab padded to the model's "
              f"{results[0]['weights'].get('n_vocab')}{forced}")
    noisy = [f"{r['dtype']} {n}" for r in results for n, x in r["tests"].items() if x["sd_ts"] > 0.1 * x["mean_ts"]]
    if noisy:
        print(f"noisy (sd > 10% of the mean): {', '.join(noisy)}")
    if any((r["cpu_busy_before"] or 0) >= 0.1 for r in results):
        print("note: other work was using the CPUs before a run (busy column); its figures are likely low "
              "(--wait-idle S waits for an idle machine)")
    print("commands:")
    print(f"  {' '.join(brec['configure'])}")
    print(f"  {' '.join(brec['build'])}")
    for r in results:
        print(f"  {' '.join(r['convert']['command'])}")
    for r in results:
        print(f"  {' '.join(r['command'])}")

    if args.json:
        doc = {"llama_cpp": {**ver, "build_s": brec["build_s"], "cmake": brec["cmake"], "compiler": brec["key"]["compiler"],
                             "configure": brec["configure"], "build": brec["build"],
                             "march_native_features": brec["march_native_features"]},
               "cpu": cpu_model(), "logical_cpus": os.cpu_count(), "threads": args.threads, "repeat": args.repeat,
               "load_before": load0, "load_after": load1, "model": str(model), "results": results}
        write_atomic(args.json.expanduser(), json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"bench_llamacpp: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("bench_llamacpp: interrupted", file=sys.stderr)
        sys.exit(130)
