#!/usr/bin/python3
"""Writes the PIL reference outputs that the Java image tests compare against.

Run from anywhere with Debian's Pillow 9.4 (python3-pil):  /usr/bin/python3 src/test/python/make_pil_fixtures.py
The tests read only what this script writes (committed under src/test/resources), never Python.

What it writes, under src/test/resources:
  fixtures/pil/photos/<file>.png     open().convert("RGB").resize((224, 224), BICUBIC) of images/photos/<file>
  fixtures/pil/edge/<file>.png       open().convert("RGB") of images/edge/<file>, full size, where PIL decodes it
  fixtures/pil/edge.json             per edge file: PIL's mode and size, or the error PIL raises
  images/synthetic/*                 small files PIL writes in the modes the decoder must convert
                                     (1-bit, LA, 16-bit gray, palettes with transparency, BMP, GIF frame
                                     offsets, lossless WebP)
  fixtures/pil/synthetic/<file>.png  open().convert("RGB") of each synthetic file
  fixtures/pil/synthetic.json        the same manifest as edge.json for the synthetic files
  fixtures/pil/resize/<case>.in.png  a synthetic RGB input
  fixtures/pil/resize/<case>.png     PIL's BICUBIC resize of it
  fixtures/pil/resize.json           case -> input file and target size
  images/formats/*                   small TIFF and WebP files made from images/photos/chelsea.png (downscaled
                                     here), one per mode the decoder must convert: TIFF RGB (raw, LZW, JPEG),
                                     gray (2-, 4-, 8- and 16-bit, both byte orders, WhiteIsZero), 16-bit RGB,
                                     palette, bilevel, CMYK (8- and 16-bit), RGBA (unassociated and
                                     premultiplied alpha), LA, YCbCr (raw and JPEG), multi-page; WebP lossy, lossy with
                                     alpha, lossless, animated (and one whose first frame sits at an offset)
  fixtures/pil/formats/<file>.png    open().convert("RGB") of each formats file
  fixtures/pil/formats.json          the same manifest as edge.json for the formats files
  fixtures/pil/resized/<dir>/<file>.png  open().convert("RGB").resize((224, 224), BICUBIC) of every WebP in
                                     images/formats, images/edge and images/synthetic, and of one TIFF per mode
  fixtures/pil/resized.json          images/<dir>/<file> -> its resized fixture
"""
import io
import json
import random
import struct
import zlib
from pathlib import Path

import PIL
from PIL import Image
from PIL.PngImagePlugin import MAX_TEXT_CHUNK, PngInfo

assert PIL.__version__.startswith("9."), f"fixtures are defined by Pillow 9.x, found {PIL.__version__}"

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
IMAGES = RESOURCES / "images"
PIL_OUT = RESOURCES / "fixtures" / "pil"
SIZE = (224, 224)


def image_files(folder):
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("LICENSE"))


def save_png(im, path):
    """Pixels only: info (transparency, gamma, ICC) must not ride along into the reference file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.frombytes(im.mode, im.size, im.tobytes()).save(path, format="PNG", compress_level=9)


def photos():
    manifest = {}
    for src in image_files(IMAGES / "photos"):
        with Image.open(src) as im:
            out = im.convert("RGB").resize(SIZE, Image.BICUBIC)
        save_png(out, PIL_OUT / "photos" / (src.name + ".png"))
        manifest[src.name] = {"fixture": src.name + ".png", "width": SIZE[0], "height": SIZE[1]}
    (PIL_OUT / "photos.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def decode_manifest(folder, out_folder, manifest_path):
    """PIL's open + convert("RGB") of every file in folder: the pixels, or the error it raises."""
    manifest = {}
    for src in image_files(folder):
        entry = {"mode": None, "width": None, "height": None, "outcome": "ok", "error": None}
        try:
            with Image.open(src) as im:
                entry.update(mode=im.mode, width=im.size[0], height=im.size[1])
                if im.format == "TIFF":
                    entry["compression"] = im.info.get("compression")
                rgb = im.convert("RGB")
        except Exception as e:  # every failure is recorded: the Java side must fail on the same files
            message = str(e).replace(str(src), src.name)
            entry.update(outcome="error", error=f"{type(e).__name__}: {message}")
        else:
            save_png(rgb, out_folder / (src.name + ".png"))
        manifest[src.name] = entry
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def noise(rng, w, h):
    return Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))


def gradient(w, h):
    data = bytearray()
    for y in range(h):
        for x in range(w):
            data += bytes(((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), ((x + y) * 7) % 256))
    return Image.frombytes("RGB", (w, h), bytes(data))


def checkerboard(w, h, cell):
    data = bytearray()
    for y in range(h):
        for x in range(w):
            v = 255 if ((x // cell) + (y // cell)) % 2 else 0
            data += bytes((v, 255 - v, v))
    return Image.frombytes("RGB", (w, h), bytes(data))


def resize_cases():
    rng = random.Random(20240611)
    cases = {
        "noise-37x23-up-224x224": (noise(rng, 37, 23), (224, 224)),
        "noise-300x200-down-224x224": (noise(rng, 300, 200), (224, 224)),
        "gradient-640x480-down-224x224": (gradient(640, 480), (224, 224)),
        "noise-1x1-up-224x224": (noise(rng, 1, 1), (224, 224)),
        "noise-1x1-up-5x3": (noise(rng, 1, 1), (5, 3)),
        "noise-97x61-mixed-13x200": (noise(rng, 97, 61), (13, 200)),
        "noise-50x50-width-only-17x50": (noise(rng, 50, 50), (17, 50)),
        "noise-50x50-height-only-50x17": (noise(rng, 50, 50), (50, 17)),
        "noise-31x29-same-size": (noise(rng, 31, 29), (31, 29)),
        "noise-500x7-down-1x1": (noise(rng, 500, 7), (1, 1)),
        "noise-1001x3-down-7x2": (noise(rng, 1001, 3), (7, 2)),
        "checker-64x64-up-224x224": (checkerboard(64, 64, 4), (224, 224)),
        "checker-64x64-down-45x39": (checkerboard(64, 64, 1), (45, 39)),
    }
    manifest = {}
    for name, (src, size) in cases.items():
        save_png(src, PIL_OUT / "resize" / f"{name}.in.png")
        save_png(src.resize(size, Image.BICUBIC), PIL_OUT / "resize" / f"{name}.png")
        manifest[name] = {"input": f"{name}.in.png", "output": f"{name}.png", "width": size[0], "height": size[1]}
    (PIL_OUT / "resize.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def gif_with_offset_frame(frame, screen, offset, transparency):
    """A GIF whose only frame sits at an offset inside a larger logical screen (PIL cannot write one)."""
    buf = io.BytesIO()
    kwargs = {"transparency": transparency} if transparency is not None else {}
    frame.save(buf, format="GIF", **kwargs)
    data = bytearray(buf.getvalue())
    struct.pack_into("<HH", data, 6, *screen)
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while data[pos] == 0x21:  # skip extension blocks up to the image descriptor
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    assert data[pos] == 0x2C, "image descriptor expected"
    struct.pack_into("<HH", data, pos + 1, *offset)
    return bytes(data)


def synthetic_files():
    rng = random.Random(7)
    folder = IMAGES / "synthetic"
    folder.mkdir(parents=True, exist_ok=True)
    rgb = noise(rng, 23, 17)

    Image.frombytes("L", (23, 17), rng.randbytes(23 * 17)).convert("1").save(folder / "mode1.png")
    Image.merge("LA", (rgb.getchannel(0), rgb.getchannel(1))).save(folder / "la.png")
    i16 = Image.new("I", (23, 17))
    i16.putdata([(v * 4) for v in rgb.getchannel(2).getdata()])  # 0..1020: convert("RGB") clips, not scales
    i16.save(folder / "gray16.png")
    Image.frombytes("L", (23, 17), rng.randbytes(23 * 17)).save(folder / "gray_trns.png", transparency=17)
    rgb.save(folder / "rgb_trns.png", transparency=rgb.getpixel((3, 3)))
    rgba = rgb.copy()
    rgba.putalpha(Image.frombytes("L", (23, 17), rng.randbytes(23 * 17)))
    rgba.save(folder / "rgba.png")

    small_palette = rgb.quantize(colors=12)
    small_palette.save(folder / "palette4bit_trns.png", bits=4, transparency=3)
    small_palette.save(folder / "palette.bmp")
    rgb.save(folder / "rgb.bmp")
    rgba.save(folder / "rgba.bmp")

    (folder / "offset_frame.gif").write_bytes(gif_with_offset_frame(small_palette, (40, 30), (9, 6), None))
    (folder / "offset_frame_trns.gif").write_bytes(gif_with_offset_frame(small_palette, (40, 30), (9, 6), 5))
    Image.frombytes("L", (23, 17), rng.randbytes(23 * 17)).save(folder / "gray.gif")

    rgb.save(folder / "lossless.webp", lossless=True)
    rgba.save(folder / "rgba_lossless.webp", lossless=True)
    with Image.open(IMAGES / "photos" / "bird.JPEG") as profiled:  # PIL keeps an ICC profile but never applies it
        icc = profiled.info["icc_profile"]
    rgb.save(folder / "lossless_icc.webp", lossless=True, icc_profile=icc)

    # Adobe marker with transform 0: plain (not YCCK) CMYK, which libjpeg hands over unconverted
    rgb.convert("CMYK").save(folder / "cmyk_adobe0.jpg", quality=95)

    (folder / "palette_short_plte.png").write_bytes(png_short_palette(rng, 23, 17))

    (folder / "rgb555.bmp").write_bytes(bmp_rgb555(rng, 7, 5))

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": Pillow's open/convert leaves the pixels as stored
    rgb.save(folder / "exif_orientation_6.jpg", quality=95, exif=exif.tobytes())

    (folder / "png_named.jpg").write_bytes((folder / "rgb_trns.png").read_bytes())

    one_pixel = Image.new("L", (1, 1), 7)
    for name, size in (("ztxt_1mib_minus_1.png", MAX_TEXT_CHUNK - 1), ("ztxt_1mib_plus_1.png", MAX_TEXT_CHUNK + 1)):
        info = PngInfo()
        info.add_text("comment", "a" * size, zip=True)
        one_pixel.save(folder / name, pnginfo=info)

    damaged_files(folder)


def damaged_files(folder):
    """Truncated and damaged copies of the edge files: which of them Pillow still opens is the point."""
    edge = IMAGES / "edge"
    jpeg = (edge / "hopper.jpg").read_bytes()
    png = (edge / "hopper.png").read_bytes()
    webp = (edge / "hopper.webp").read_bytes()
    gif = (folder / "offset_frame.gif").read_bytes()
    chi = (edge / "chi.gif").read_bytes()
    files = {
        "hopper_no_eoi.jpg": jpeg[:-2],
        "hopper_half.jpg": jpeg[: len(jpeg) // 2],
        "hopper_cut_iend.png": png[:-2],
        "hopper_cut_text.png": png[:-100],
        "hopper_cut_idat.png": png[: len(png) // 2],
        "hopper_bad_crc_before_idat.png": flip_crc(png, b"gAMA"),
        "hopper_bad_crc_after_idat.png": flip_crc(png, b"tEXt"),
        "hopper_half.webp": webp[: len(webp) // 2],
        "offset_frame_no_trailer.gif": gif[:-1],
        "offset_frame_cut_data.gif": gif[:-20],
        "chi_first_2000_bytes.gif": chi[:2000],
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)


def flip_crc(png, chunk_type):
    at = png.index(chunk_type) - 4
    length = struct.unpack(">I", png[at : at + 4])[0]
    crc = at + 8 + length
    return png[:crc] + bytes([png[crc] ^ 0xFF]) + png[crc + 1 :]


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_short_palette(rng, w, h):
    """An 8-bit palette PNG whose PLTE has 4 entries while pixels use indices up to 15: what PIL
    shows past the end of a palette (PIL's own writer never makes one)."""
    rows = b"".join(b"\0" + bytes(b % 16 for b in rng.randbytes(w)) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + png_chunk(b"PLTE", bytes((200, 10, 10, 10, 200, 10, 10, 10, 200, 250, 250, 0)))
            + png_chunk(b"IDAT", zlib.compress(rows))
            + png_chunk(b"IEND", b""))


def bmp_rgb555(rng, w, h):
    """A 16-bit BI_RGB (5-5-5) BMP, which PIL reads but cannot write."""
    stride = (w * 2 + 3) & ~3
    pixels = b"".join(rng.randbytes(w * 2) + bytes(stride - w * 2) for _ in range(h))
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 16, 0, len(pixels), 2835, 2835, 0, 0)
    header = struct.pack("<2sIHHI", b"BM", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


def tiff_ifd_entry(order, tag, kind, values, data_at, extra):
    """One IFD entry; values that do not fit in its 4 bytes go to `extra`, at data_at + len(extra)."""
    fmt = {3: "H", 4: "I"}[kind]
    payload = struct.pack(order + fmt * len(values), *values)
    if len(payload) <= 4:
        return struct.pack(order + "HHI", tag, kind, len(values)) + payload.ljust(4, b"\0")
    offset = data_at + len(extra)
    extra += payload
    return struct.pack(order + "HHII", tag, kind, len(values), offset)


def tiff_bytes(size, photometric, bits, samples, big_endian=False, extra_samples=None):
    """An uncompressed single-strip TIFF, for the layouts PIL cannot write (16-bit RGB, big-endian 16-bit
    gray, WhiteIsZero gray). `samples` holds the pixel data as it is to be stored."""
    order = ">" if big_endian else "<"
    w, h = size
    tags = [(256, 3, [w]), (257, 3, [h]), (258, 3, list(bits)), (259, 3, [1]), (262, 3, [photometric]),
            (273, 4, [0]), (277, 3, [len(bits)]), (278, 3, [h]), (279, 4, [len(samples)]), (284, 3, [1])]
    if extra_samples is not None:
        tags.append((338, 3, [extra_samples]))
    header = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(order + "I", 8)
    ifd_size = 2 + 12 * len(tags) + 4
    data_at = 8 + ifd_size
    extra = bytearray()
    entries = [tiff_ifd_entry(order, tag, kind, values, data_at, extra) for tag, kind, values in tags]
    strip_at = data_at + len(extra)
    entries[5] = struct.pack(order + "HHII", 273, 4, 1, strip_at)
    ifd = struct.pack(order + "H", len(tags)) + b"".join(entries) + struct.pack(order + "I", 0)
    return header + ifd + bytes(extra) + samples


def samples16(im, big_endian, scale, spread):
    """16-bit samples from an 8-bit image: each level times `scale`, plus up to `spread` low-order noise.
    Gray uses scale 2 (0..511: Pillow clips "I;16" at 255, so half the levels survive and a reader that
    keeps the high byte or scales shows it); colour uses 257 (the full range, whose high byte Pillow keeps)."""
    rng = random.Random(16)
    values = [min(65535, v * scale + rng.randrange(spread)) for v in im.tobytes()]
    return struct.pack((">" if big_endian else "<") + "H" * len(values), *values)


def packed(gray, bits):
    """The top `bits` of each gray level, packed most significant first, each row padded to a byte."""
    w, h = gray.size
    levels = gray.tobytes()
    rows = bytearray()
    for y in range(h):
        acc, n = 0, 0
        for x in range(w):
            acc = (acc << bits) | (levels[y * w + x] >> (8 - bits))
            n += bits
            if n == 8:
                rows.append(acc)
                acc, n = 0, 0
        if n:
            rows.append(acc << (8 - n))
    return bytes(rows)


def webp_chunks(data):
    """(fourcc, payload) of each chunk of a RIFF WebP file."""
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks.append((data[pos : pos + 4], data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks


def riff_chunk(fourcc, payload):
    return fourcc + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def animated_webp_with_offset_frame(still, canvas, offset):
    """An animated WebP whose first frame (the image data of `still`) sits at `offset` inside a larger
    canvas: PIL's writer never makes one (its first frame always covers the canvas)."""
    frame = b"".join(riff_chunk(k, v) for k, v in webp_chunks(still) if k in (b"ALPH", b"VP8 ", b"VP8L"))
    w, h = Image.open(io.BytesIO(still)).size
    u24 = lambda v: struct.pack("<I", v)[:3]
    anmf = u24(offset[0] // 2) + u24(offset[1] // 2) + u24(w - 1) + u24(h - 1) + u24(100) + b"\x02"
    vp8x = bytes((0x10 | 0x02, 0, 0, 0)) + u24(canvas[0] - 1) + u24(canvas[1] - 1)  # alpha + animation
    body = b"WEBP" + riff_chunk(b"VP8X", vp8x) + riff_chunk(b"ANIM", bytes(4) + struct.pack("<H", 0)) \
        + riff_chunk(b"ANMF", anmf + frame)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def format_files():
    """TIFF and WebP files in the modes PIL reads, made from a downscaled photo (odd sizes, so that
    chroma subsampling and strips end mid-block)."""
    folder = IMAGES / "formats"
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(IMAGES / "photos" / "chelsea.png") as photo:
        rgb = photo.convert("RGB").resize((97, 65), Image.LANCZOS)
    small = rgb.resize((49, 33), Image.LANCZOS)
    w, h = rgb.size
    # a soft disc of opacity with a fully transparent corner: lossy alpha where it varies
    alpha = Image.new("L", (w, h))
    alpha.putdata([max(0, min(255, int(400 - 6 * ((x - 48) ** 2 + (y - 32) ** 2) ** 0.5))) for y in range(h) for x in range(w)])
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    gray = rgb.convert("L")

    rgb.save(folder / "rgb.tif")
    rgb.save(folder / "rgb_lzw.tif", compression="tiff_lzw")
    rgb.save(folder / "rgb_jpeg.tif", compression="jpeg", quality=90)
    gray.save(folder / "gray.tif", compression="packbits")
    Image.frombytes("I;16", small.size, samples16(small.convert("L"), False, 2, 2)).save(folder / "gray16.tif")
    (folder / "gray16_big_endian.tif").write_bytes(
        tiff_bytes(small.size, 1, (16,), samples16(small.convert("L"), True, 2, 2), big_endian=True))
    (folder / "rgb16.tif").write_bytes(tiff_bytes(small.size, 2, (16, 16, 16), samples16(small, False, 257, 257)))
    (folder / "gray_white_is_zero.tif").write_bytes(tiff_bytes(rgb.size, 0, (8,), gray.tobytes()))
    (folder / "gray16_white_is_zero.tif").write_bytes(  # "I;16" all the same: Pillow does not invert it
        tiff_bytes(small.size, 0, (16,), samples16(small.convert("L"), False, 2, 2)))
    (folder / "gray4.tif").write_bytes(tiff_bytes(small.size, 1, (4,), packed(small.convert("L"), 4)))
    (folder / "gray2_white_is_zero.tif").write_bytes(tiff_bytes(small.size, 0, (2,), packed(small.convert("L"), 2)))
    rgb.quantize(colors=37).save(folder / "palette.tif")
    gray.convert("1").save(folder / "bilevel.tif", compression="group4")
    rgb.convert("CMYK").save(folder / "cmyk.tif", compression="tiff_adobe_deflate")
    rgba.save(folder / "rgba.tif", compression="tiff_adobe_deflate")
    Image.merge("LA", (gray, alpha)).save(folder / "la.tif")
    (folder / "cmyk16.tif").write_bytes(tiff_bytes(small.size, 5, (16,) * 4, samples16(small.convert("CMYK"), False, 257, 257)))
    premultiplied = bytearray()
    for r, g, b, a in zip(*[iter(rgba.tobytes())] * 4):
        premultiplied += bytes((r * a // 255, g * a // 255, b * a // 255, a))
    (folder / "rgba_associated_alpha.tif").write_bytes(tiff_bytes(rgb.size, 2, (8,) * 4, premultiplied, extra_samples=1))
    rgb.convert("YCbCr").save(folder / "ycbcr.tif")
    rgb.convert("YCbCr").save(folder / "ycbcr_jpeg.tif", compression="jpeg", quality=90)
    rgb.save(folder / "multipage.tif", save_all=True, append_images=[rgb.transpose(Image.FLIP_LEFT_RIGHT)])

    rgb.save(folder / "lossy.webp", quality=80)
    rgba.save(folder / "lossy_alpha.webp", quality=75)
    rgba.save(folder / "lossless_alpha.webp", lossless=True)
    rgb.save(folder / "animated.webp", save_all=True, append_images=[rgb.transpose(Image.FLIP_LEFT_RIGHT)],
             duration=100, quality=80)
    framed = small.copy()
    framed.putalpha(alpha.resize(small.size))
    still = io.BytesIO()
    framed.save(still, format="WEBP", quality=80)
    (folder / "animated_offset_frame.webp").write_bytes(animated_webp_with_offset_frame(still.getvalue(), (64, 48), (8, 6)))


# one TIFF per mode the issue names (the others differ from these only before convert("RGB"))
RESIZED_TIFFS = ("rgb.tif", "rgb_jpeg.tif", "gray.tif", "gray16.tif", "rgb16.tif", "palette.tif", "cmyk.tif")


def resized():
    """PIL's 224x224 BICUBIC resize of every WebP the tests hold and of one TIFF per mode."""
    manifest = {}
    for folder in ("formats", "edge", "synthetic"):
        for src in image_files(IMAGES / folder):
            if src.suffix.lower() != ".webp" and src.name not in RESIZED_TIFFS:
                continue
            try:
                with Image.open(src) as im:
                    out = im.convert("RGB").resize(SIZE, Image.BICUBIC)
            except Exception:  # the decode manifests record the failure; nothing to resize
                continue
            save_png(out, PIL_OUT / "resized" / folder / (src.name + ".png"))
            manifest[f"{folder}/{src.name}"] = {"fixture": f"{folder}/{src.name}.png", "width": SIZE[0], "height": SIZE[1]}
    (PIL_OUT / "resized.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def main():
    photos()
    decode_manifest(IMAGES / "edge", PIL_OUT / "edge", PIL_OUT / "edge.json")
    synthetic_files()
    decode_manifest(IMAGES / "synthetic", PIL_OUT / "synthetic", PIL_OUT / "synthetic.json")
    resize_cases()
    format_files()
    decode_manifest(IMAGES / "formats", PIL_OUT / "formats", PIL_OUT / "formats.json")
    resized()


if __name__ == "__main__":
    main()
