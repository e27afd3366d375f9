"""pbenc.py: hand-built ganq.v1 Envelope frames (hex on stdout) for the malformed-input
tests, so they can send what the real client refuses to build. Field numbers follow
proto/ganq.proto. Usage: pbenc.py CASE [OUT_DIR]
"""
import sys


def varint(n):
    n &= (1 << 64) - 1          # negative int32/int64: ten-byte two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def fv(field, n):
    return varint(field << 3) + varint(n)


def fs(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def spec(kind=1, model="testcard", count=4, out="/tmp/x", fmt=1, extra=b""):
    return fv(1, kind) + fs(2, model) + fv(7, count) + fv(13, fmt) + fs(18, out) + extra


def env(body_field, body, version=1, rid=7):
    return fv(1, version) + fv(2, rid) + fs(body_field, body)


def submit(**kw):
    return env(10, fs(1, spec(**kw)))


def main():
    case = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else "/tmp/ganq-pbenc"
    frames = {
        "garbage": bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01, 0x02]),
        "truncated": submit(out=out)[:-3],
        "version2": env(12, fs(1, "j000001"), version=2),
        "version0": env(12, fs(1, "j000001"), version=0),
        "nobody": fv(1, 1) + fv(2, 7),
        "count_huge": submit(count=10 ** 12, out=out),
        "count_zero": submit(count=0, out=out),
        "kind_bad": submit(kind=99, out=out),
        "priority_bad": submit(out=out, extra=fv(19, 1000)),
        "trunc_nan": submit(out=out, extra=varint(9 << 3 | 1) + bytes.fromhex("000000000000f87f")),
        "out_dotdot": submit(out="/tmp/../etc/ganq"),
        "out_relative": submit(out="relative/dir"),
        "model_path": submit(model="../../etc/passwd", out=out),
        "jobid_long": env(12, fs(1, "j" * 5000)),
        "valid_status": env(12, fs(1, "j-no-such-job")),
    }
    sys.stdout.write(frames[case].hex())


if __name__ == "__main__":
    main()
