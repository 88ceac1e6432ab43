"""Write the small synthetic decay files of the test suite (run: python make_files.py).

Every file holds a decay simulated by :mod:`qdstack.synthetic.decay` with a fixed
seed; ``truth.json`` records what each file must read back as.

Writers used
------------
* ``decay_t3.ptu``: **ptufile's own writer** (``ptufile.imwrite``, a T3 image of
  2 x 2 pixels and 2 detector channels).
* ``decay_t2.ptu``, ``decay.phu``: ptufile has no writer for T2 records or PHU
  histograms, so they are written here from the PicoQuant unified tag format
  (``encode_tag`` below: 32-byte ident, int32 index, uint32 type, 8-byte value,
  then string payloads; HydraHarp V2 T2 records).  They test our reader on files
  made by our own code path, not by instrument software.
* ``decay.sdt``: sdtfile has no writer; written here from sdtfile's own record
  definitions (FILE_HEADER, MEASURE_INFO, BLOCK_HEADER), so again our own code
  path.  No small, licensed real SDT file exists (see shared/data/real/README.md).
* ``decay_ns.csv``, ``irf_ns.csv``, ``decay_2ch_ps.tsv``: plain text.
"""

from __future__ import annotations

import json
import struct
import uuid
from datetime import datetime
from pathlib import Path

import numpy as np

from qdstack.synthetic.decay import (
    decay_expected_counts,
    measured_like_irf_shape,
    simulate_irf_counts,
)

HERE = Path(__file__).resolve().parent
SEED = 20240611

# -- PicoQuant unified tags ----------------------------------------------------------

_TY = {
    "Empty8": 0xFFFF0008,
    "Bool8": 0x00000008,
    "Int8": 0x10000008,
    "Float8": 0x20000008,
    "AnsiString": 0x4001FFFF,
}


def encode_tag(name: str, value, index: int = -1) -> bytes:
    ident = name.encode("ascii").ljust(32, b"\0")
    if value is None:
        return struct.pack("<32siIq", ident, index, _TY["Empty8"], 0)
    if isinstance(value, bool):
        return struct.pack("<32siIq", ident, index, _TY["Bool8"], int(value))
    if isinstance(value, int):
        return struct.pack("<32siIq", ident, index, _TY["Int8"], value)
    if isinstance(value, float):
        return struct.pack("<32siId", ident, index, _TY["Float8"], value)
    if isinstance(value, str):
        payload = value.encode("latin-1") + b"\0"
        payload = payload.ljust((len(payload) + 7) // 8 * 8, b"\0")
        return struct.pack("<32siIq", ident, index, _TY["AnsiString"], len(payload)) + payload
    raise TypeError(type(value))


def write_phu(path: Path, curves: list[np.ndarray], resolution_s: float, sync_rate_hz: int) -> None:
    tags = [
        ("File_GUID", "{%s}" % str(uuid.UUID(int=SEED)).upper(), -1),
        ("File_Comment", "qdstack synthetic test histogram", -1),
        ("Measurement_Mode", 0, -1),
        ("Measurement_SubMode", 1, -1),
        ("HW_BaseResolution", 1e-12, -1),
        ("MeasDesc_Resolution", resolution_s, -1),
        ("HistoResult_NumberOfCurves", len(curves), -1),
    ]
    per_curve = []
    for i, c in enumerate(curves):
        per_curve += [
            ("HistResDscr_CurveIndex", i, i),
            ("HistResDscr_MDescResolution", resolution_s, i),
            ("HistResDscr_HWBaseResolution", 1e-12, i),
            ("HistResDscr_SyncRate", sync_rate_hz, i),
            ("HistResDscr_HistogramBins", int(c.size), i),
            ("HistResDscr_IntegralCount", int(c.sum()), i),
            ("HistResDscr_DataOffset", 0, i),  # placeholder, fixed below
        ]
    head_len = 16 + sum(len(encode_tag(n, v, i)) for n, v, i in tags + per_curve) + 48
    offsets, pos = [], head_len
    for c in curves:
        offsets.append(pos)
        pos += 4 * c.size
    out = [b"PQHISTO\0" + b"1.0.00\0\0"]
    out += [encode_tag(n, v, i) for n, v, i in tags]
    for n, v, i in per_curve:
        out.append(encode_tag(n, offsets[i] if n == "HistResDscr_DataOffset" else v, i))
    out.append(encode_tag("Header_End", None))
    data = b"".join(out)
    assert len(data) == head_len
    data += b"".join(np.asarray(c, dtype="<u4").tobytes() for c in curves)
    path.write_bytes(data)


def write_t2_ptu(
    path: Path, sync_ps: np.ndarray, photon_ps: np.ndarray, photon_ch: np.ndarray, period_s: float
) -> None:
    """HydraHarp V2 T2 records (1 ps resolution): sync = special record with channel 0."""
    wrap = 33554432
    events = np.concatenate([sync_ps, photon_ps])
    kind = np.concatenate([np.full(sync_ps.size, -1), photon_ch])
    order = np.argsort(events, kind="stable")
    records, overflows = [], 0
    for t, k in zip(events[order], kind[order]):
        need = int(t) // wrap
        while overflows < need:
            n = min(need - overflows, (1 << 25) - 1)
            records.append((1 << 31) | (63 << 25) | n)
            overflows += n
        tt = int(t) % wrap
        records.append(((1 << 31) | tt) if k < 0 else ((int(k) << 25) | tt))
    rec = np.asarray(records, dtype="<u4")
    tags = [
        ("File_GUID", "{%s}" % str(uuid.UUID(int=SEED + 1)).upper()),
        ("File_Comment", "qdstack synthetic T2 test file"),
        ("Measurement_Mode", 2),
        ("Measurement_SubMode", 0),
        ("MeasDesc_GlobalResolution", 1e-12),
        ("MeasDesc_Resolution", 1e-12),
        ("MeasDesc_AcquisitionTime", int(np.ceil(events.max() * 1e-9))),
        ("TTResult_SyncRate", int(round(1.0 / period_s))),
        ("TTResult_NumberOfRecords", int(rec.size)),
        ("TTResultFormat_TTTRRecType", 0x01010204),
        ("TTResultFormat_BitsPerRecord", 32),
        ("HW_InpChannels", 3),
    ]
    head = (
        b"PQTTTR\0\0"
        + b"1.0.00\0\0"
        + b"".join(encode_tag(n, v) for n, v in tags)
        + encode_tag("Header_End", None)
    )
    path.write_bytes(head + rec.tobytes())


def write_sdt(path: Path, curves: np.ndarray, tac_r_s: float, sync_rate_hz: float) -> None:
    """One DECAY data block of len(curves) curves (uint16), a minimal 'SPC DLL Data File'."""
    import sdtfile.sdtfile as S

    n_curves, adc = curves.shape
    # B&H write the identification between 0x04 bytes, and sdtfile compares it with them
    info = b"*IDENTIFICATION\r\n  ID        : \x04SPC DLL Data File\x04\r\n  Title     : qdstack test\r\n*END\r\n\r\n"
    mi = np.zeros(1, dtype=np.dtype(S.MEASURE_INFO))[0]
    mi["time"], mi["date"], mi["mod_ser_no"] = b"12:00:00", b"2024-06-11", b"QDSTACK"
    mi["tac_r"], mi["tac_g"], mi["adc_re"] = tac_r_s, 1, adc
    mi["StopInfo"]["min_sync_rate"] = sync_rate_hz
    mi["StopInfo"]["max_sync_rate"] = sync_rate_hz
    mi_bytes = mi.tobytes()
    data = np.asarray(curves, dtype="<u2").tobytes()
    hdr_dtype = np.dtype(S.FILE_HEADER)
    bh_dtype = np.dtype(S.BLOCK_HEADER)
    info_offs = hdr_dtype.itemsize
    mdesc_offs = info_offs + len(info)
    block_offs = mdesc_offs + len(mi_bytes)
    h = np.zeros(1, dtype=hdr_dtype)[0]
    h["revision"] = (0x28 << 4) | 15  # SPC-150, file revision 15 (new block headers)
    h["info_offs"], h["info_length"] = info_offs, len(info)
    h["setup_offs"], h["setup_length"] = 0, 0
    h["data_block_offs"], h["no_of_data_blocks"], h["data_block_length"] = block_offs, 1, len(data)
    h["meas_desc_block_offs"], h["no_of_meas_desc_blocks"] = mdesc_offs, 1
    h["meas_desc_block_length"] = len(mi_bytes)
    h["header_valid"] = 0x5555
    h["chksum"] = 0x55AA
    bh = np.zeros(1, dtype=bh_dtype)[0]
    bh["data_offs"] = block_offs + bh_dtype.itemsize
    bh["next_block_offs"] = block_offs + bh_dtype.itemsize + len(data)
    bh["block_type"] = 0x0001  # measured data, decay block, uint16
    bh["meas_desc_block_no"], bh["lblock_no"], bh["block_length"] = 0, 0, len(data)
    path.write_bytes(h.tobytes() + info + mi_bytes + bh.tobytes() + data)


# -- the decays ------------------------------------------------------------------------


def main() -> None:
    rng = np.random.default_rng(SEED)
    truth: dict = {}
    irf = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=1.5, tail_ns=0.1, echo_fraction=0.0)

    # text, ns: one decay and its IRF, 256 bins of 50 ps
    t = np.arange(256) * 0.05
    mu = decay_expected_counts(t, irf, [1.0], [2.0], signal_counts=5e4, background=2.0)
    y = rng.poisson(mu)
    g = simulate_irf_counts(t, irf, 3e4, 1.0, seed=rng)
    with open(HERE / "decay_ns.csv", "w") as fh:
        fh.write("# qdstack synthetic TCSPC decay: tau = 2.0 ns, 5e4 photons, background 2/bin\n")
        fh.write("time_ns,counts\n")
        fh.writelines(f"{a:.2f},{int(b)}\n" for a, b in zip(t, y))
    with open(HERE / "irf_ns.csv", "w") as fh:
        fh.write("# instrument response for decay_ns.csv (same bins)\ntime_ns,counts\n")
        fh.writelines(f"{a:.2f},{int(b)}\n" for a, b in zip(t, g))
    truth["decay_ns.csv"] = {
        "tau_ns": 2.0,
        "bins": 256,
        "bin_width_ns": 0.05,
        "photons": int(y.sum()),
    }

    # text, ps, tab-separated, two count columns (channel 1 has more photons)
    y0 = rng.poisson(decay_expected_counts(t, irf, [1.0], [1.0], signal_counts=1e4, background=1.0))
    y1 = rng.poisson(decay_expected_counts(t, irf, [1.0], [3.0], signal_counts=3e4, background=1.0))
    with open(HERE / "decay_2ch_ps.tsv", "w") as fh:
        fh.write("Exported from a TCSPC program\nResolution: 50 ps\n")
        fh.write("Time [ps]\tDetector A\tDetector B\n")
        fh.writelines(f"{a * 1e3:.0f}\t{int(b)}\t{int(c)}\n" for a, b, c in zip(t, y0, y1))
    truth["decay_2ch_ps.tsv"] = {
        "channels": [[0, int(y0.sum())], [1, int(y1.sum())]],
        "tau_ns": [1.0, 3.0],
        "bin_width_ns": 0.05,
    }

    # PTU T3 image through ptufile.imwrite: 2 x 2 pixels, 2 channels, 256 bins of 50 ps, period 12.8 ns
    import ptufile

    period = 12.8
    mus = [
        decay_expected_counts(
            t, irf, [1.0], [tau], signal_counts=n, background=0.5, period_ns=period
        )
        for tau, n in ((2.5, 8e3), (1.2, 3e3))
    ]
    img = np.zeros((2, 2, 2, 256), dtype=np.uint16)
    for c, m in enumerate(mus):
        for iy in range(2):
            for ix in range(2):
                img[iy, ix, c] = rng.poisson(m / 4.0)
    ptufile.imwrite(
        HERE / "decay_t3.ptu",
        img,
        global_resolution=period * 1e-9,
        tcspc_resolution=50e-12,
        guid="{%s}" % str(uuid.UUID(int=SEED + 2)).upper(),
        datetime=datetime(2024, 6, 11, 12, 0, 0),
        comment="qdstack synthetic T3 test image",
    )
    sums = img.sum(axis=(0, 1)).astype(int)
    truth["decay_t3.ptu"] = {
        "channels": [[0, int(sums[0].sum())], [1, int(sums[1].sum())]],
        "tau_ns": [2.5, 1.2],
        "period_ns": period,
        "bin_width_ns": 0.05,
        "checksum": [int(np.dot(np.arange(256), s)) for s in sums],
    }

    # PTU T2 (own writer): delays drawn from the decay of channel 0 and 1, period 25 ns
    period2 = 25.0
    n_sync = 12000
    sync_ps = np.arange(n_sync, dtype=np.int64) * int(period2 * 1e3)
    fine = np.arange(0, 500) * 0.05
    pdf = decay_expected_counts(
        fine, irf, [1.0], [3.0], signal_counts=1.0, background=0.0, period_ns=period2
    )
    pdf = pdf / pdf.sum()
    n_ph = 6000
    k = rng.choice(n_sync - 1, size=n_ph)
    delay_ps = (
        (fine[rng.choice(fine.size, size=n_ph, p=pdf)] + rng.uniform(0, 0.05, n_ph)) * 1e3
    ).astype(np.int64)
    ch = (rng.random(n_ph) < 0.7).astype(np.int64)  # 70 % on channel 1
    write_t2_ptu(HERE / "decay_t2.ptu", sync_ps, sync_ps[k] + delay_ps, ch, period2 * 1e-9)
    truth["decay_t2.ptu"] = {
        "channels": [[0, int((ch == 0).sum())], [1, int((ch == 1).sum())]],
        "tau_ns": 3.0,
        "period_ns": period2,
    }

    # PHU (own writer): 2 curves of 512 bins of 25 ps, 40 MHz
    t3 = np.arange(512) * 0.025
    c0 = rng.poisson(
        decay_expected_counts(t3, irf, [1.0], [0.8], signal_counts=2e3, background=0.5)
    )
    c1 = rng.poisson(
        decay_expected_counts(
            t3, irf, [1.0], [4.0], signal_counts=4e4, background=1.0, period_ns=25.0
        )
    )
    write_phu(HERE / "decay.phu", [c0, c1], 25e-12, 40_000_000)
    truth["decay.phu"] = {
        "channels": [[0, int(c0.sum())], [1, int(c1.sum())]],
        "tau_ns": [0.8, 4.0],
        "period_ns": 25.0,
        "bin_width_ns": 0.025,
        "checksum": [int(np.dot(np.arange(512), c)) for c in (c0, c1)],
    }

    # SDT (own writer): 2 curves of 256 bins, TAC range 25 ns -> 97.66 ps bins, 40 MHz
    t4 = np.arange(256) * (25.0 / 256)
    s0 = rng.poisson(
        decay_expected_counts(
            t4, irf, [0.5, 0.5], [0.7, 5.0], signal_counts=6e4, background=1.0, period_ns=25.0
        )
    )
    s1 = rng.poisson(
        decay_expected_counts(t4, irf, [1.0], [2.0], signal_counts=5e3, background=1.0)
    )
    write_sdt(HERE / "decay.sdt", np.array([s0, s1]), 25e-9, 4e7)
    truth["decay.sdt"] = {
        "channels": [[0, int(s0.sum())], [1, int(s1.sum())]],
        "tau_ns": [[0.7, 5.0], 2.0],
        "period_ns": 25.0,
        "bin_width_ns": 25.0 / 256,
        "checksum": [int(np.dot(np.arange(256), c)) for c in (s0, s1)],
    }

    (HERE / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")


if __name__ == "__main__":
    main()
