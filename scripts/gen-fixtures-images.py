"""Writes the image fixtures of test/82.tfjs.node.test.ts (torchrnn/tfjs's tf.node image codecs)
into test/fixtures/images/: small PNG, JPEG, BMP and GIF files, and reference.json, the pixels that
tfjs-node's decode functions return for each file and `channels`, computed here independently of
the project's decoders.

    /usr/bin/python3 scripts/gen-fixtures-images.py        (needs Pillow: apt-get install python3-pil)

Where the reference pixels come from:
- PNG, BMP, GIF (lossless): the pixel arrays this script makes and writes. Pillow writes most files
  (16-bit RGBA, Adam7-interlaced and top-down BMP files are assembled here, since Pillow writes none
  of them), and every file is read back with Pillow and checked against its arrays, so a file holds
  what the reference says. The arrays then go through TensorFlow's own conversion rules, which
  tfjs-node's DecodePng/DecodeBmp/DecodeGif kernels apply (tensorflow/core/lib/png/png_io.cc
  CommonInitDecode on libpng, the BMP reader of decode_image_op.cc, lib/gif/gif_io.cc):
  `tf_png`, `tf_bmp`, `tf_gif` below. The 8-bit gray of a color PNG is libpng's
  png_set_rgb_to_gray(1, 0.299, 0.587): integer coefficients 9797/19234/3737 of 32768, truncated
  (rounded at 16 bits); a 16-bit sample keeps its high byte (png_set_strip_16); an added alpha
  is libpng's filler, (1 << bit depth) - 1 (so 15 for a 4-bit palette image: libpng fills after
  expanding to 8 bits, and TensorFlow sets the filler from the file's depth).
- JPEG (lossy): Pillow's libjpeg-turbo decode (accurate integer IDCT, fancy upsampling; gray output
  through libjpeg's own grayscale path). tfjs-node's libjpeg uses the fast integer IDCT, torchrnn
  decodes with jpeg-js, so the test compares within a tolerance.

The output is deterministic: run it again and nothing changes.
"""
import base64
import io
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'images')
RNG = np.random.default_rng(20240623)


# --------------------------------------------------------------------------------------------
# Pixel sources

def noise(h, w, c, hi=256):
    return RNG.integers(0, hi, size=(h, w, c), dtype=np.int64)


def smooth(h, w):
    """A smooth RGB picture (gradients and a soft blob), so JPEG's chroma upsampling differs
    little between decoders."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 40 + 170 * x / (w - 1)
    g = 30 + 180 * y / (h - 1)
    b = 128 + 90 * np.exp(-((x - w / 2) ** 2 + (y - h / 2) ** 2) / (2 * (w / 4) ** 2)) - 60 * x / w
    return np.clip(np.stack([r, g, b], -1).round(), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# TensorFlow's conversion rules (what tfjs-node returns), on the source arrays

def gray_of_rgb8(r, g, b):
    """libpng's png_do_rgb_to_gray for 8-bit rows without gamma: (rc*r + gc*g + bc*b) >> 15."""
    out = (9797 * r + 19234 * g + 3737 * b) >> 15
    return np.where((r == g) & (g == b), r, out)


def gray_of_rgb16(r, g, b):
    """The same at 16 bits, which libpng rounds, before png_set_strip_16 keeps the high byte."""
    out = (9797 * r + 19234 * g + 3737 * b + 16384) >> 15
    return np.where((r == g) & (g == b), r, out)


def tf_png(src, channels):
    """src: {'ct': PNG colour type, 'depth', 'samples': HxWxn native samples (indices for a palette
    image), 'palette': Nx3, 'palette_alpha': list or None, 'trns': gray value or (r, g, b) or None}."""
    ct, d, s = src['ct'], src['depth'], src['samples'].astype(np.int64)
    has_trns = src.get('trns') is not None or src.get('palette_alpha') is not None
    if channels == 0:
        channels = (4 if has_trns else 3) if ct == 3 else {0: 1, 4: 2, 2: 3, 6: 4}[ct]
    want_alpha, want_gray = channels % 2 == 0, channels < 3

    def to8(v):
        if d == 16:
            return v >> 8
        if d < 8:
            return v * (255 // ((1 << d) - 1))
        return v

    alpha = None
    if ct == 3:
        pal = np.asarray(src['palette'], dtype=np.int64)
        idx = s[..., 0]
        rgb = pal[idx]
        if src.get('palette_alpha') is not None:
            pa = np.full(len(pal), 255, dtype=np.int64)
            pa[:len(src['palette_alpha'])] = src['palette_alpha']
            alpha = pa[idx]
        gray = gray_of_rgb8(rgb[..., 0], rgb[..., 1], rgb[..., 2])
    elif ct in (0, 4):
        gray = to8(s[..., 0])
        rgb = np.stack([gray] * 3, -1)
        if ct == 4:
            alpha = to8(s[..., 1])
        elif src.get('trns') is not None:
            alpha = np.where(s[..., 0] == src['trns'], 0, 255)
    else:
        rgb = to8(s[..., :3])
        if d == 16:
            gray = gray_of_rgb16(s[..., 0], s[..., 1], s[..., 2]) >> 8
        else:
            gray = gray_of_rgb8(rgb[..., 0], rgb[..., 1], rgb[..., 2])
        if ct == 6:
            alpha = to8(s[..., 3])
        elif src.get('trns') is not None:
            t = src['trns']
            alpha = np.where((s[..., 0] == t[0]) & (s[..., 1] == t[1]) & (s[..., 2] == t[2]), 0, 255)
    if alpha is None:
        alpha = np.full(s.shape[:2], ((1 << d) - 1) & 0xFF, dtype=np.int64)
    planes = [gray] if want_gray else [rgb[..., 0], rgb[..., 1], rgb[..., 2]]
    if want_alpha:
        planes.append(alpha)
    return np.stack(planes, -1).astype(np.uint8)


def tf_bmp(bgr_rows_rgb, channels, img_channels):
    """The BMP reader of decode_image_op.cc: bytes as stored (BGR(A) -> RGB(A), 8-bit indices as
    gray), alpha 255 added for a 4-channel request of a 1- or 3-channel file."""
    src = bgr_rows_rgb.astype(np.int64)
    out_c = channels or img_channels
    h, w = src.shape[:2]
    if img_channels == 1:
        planes = [src[..., 0]] * (3 if out_c >= 3 else 1)
    else:
        planes = [src[..., 0], src[..., 1], src[..., 2]]
    if out_c == 4:
        planes.append(src[..., 3] if img_channels == 4 else np.full((h, w), 255))
    return np.stack(planes, -1).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Writers Pillow does not have

def png_chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)


def png_bytes(samples, ct, depth, interlace=False, trns=None):
    """A PNG of native samples (8 or 16 bits), filter type 0, optionally Adam7-interlaced."""
    h, w, n = samples.shape
    dtype = '>u2' if depth == 16 else 'u1'

    def scanlines(img):
        if img.shape[0] == 0 or img.shape[1] == 0:
            return b''
        return b''.join(b'\x00' + row.astype(dtype).tobytes() for row in img)

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b''.join(scanlines(samples[y0::dy, x0::dx]) for x0, y0, dx, dy in passes)
    else:
        raw = scanlines(samples)
    ihdr = struct.pack('>IIBBBBB', w, h, depth, ct, 0, 0, 1 if interlace else 0)
    chunks = [png_chunk(b'IHDR', ihdr)]
    if trns is not None:
        chunks.append(png_chunk(b'tRNS', struct.pack('>' + 'H' * len(trns), *trns)))
    chunks += [png_chunk(b'IDAT', zlib.compress(raw, 9)), png_chunk(b'IEND', b'')]
    return b'\x89PNG\r\n\x1a\n' + b''.join(chunks)


def bmp_bytes(rgb, top_down):
    """An uncompressed 24-bit BITMAPINFOHEADER BMP; top_down stores rows first-to-last with a
    negative height."""
    h, w, _ = rgb.shape
    row = (3 * w + 3) // 4 * 4
    rows = [rgb[y, :, ::-1].astype(np.uint8).tobytes().ljust(row, b'\x00') for y in range(h)]
    if not top_down:
        rows.reverse()
    pixels = b''.join(rows)
    info = struct.pack('<IiiHHIIiiII', 40, w, -h if top_down else h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return b'BM' + struct.pack('<IHHI', 14 + 40 + len(pixels), 0, 0, 54) + info + pixels


# --------------------------------------------------------------------------------------------

files = {}
cases = []


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode('ascii')


def add(name, data):
    files[name] = data


def case(file, fn, args, expected, **extra):
    entry = {'file': file, 'fn': fn, 'args': args, 'shape': list(expected.shape), 'data': b64(expected)}
    entry.update(extra)
    cases.append(entry)


def pillow_save(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def pillow_rgba(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert('RGBA'), dtype=np.int64)


def check(cond, what):
    if not cond:
        raise SystemExit('gen-fixtures-images: ' + what)


# ---- PNG -----------------------------------------------------------------------------------
H, W = 7, 11
png_sources = {}

g8 = noise(H, W, 1)
png_sources['png_gray8.png'] = ({'ct': 0, 'depth': 8, 'samples': g8}, pillow_save(Image.fromarray(g8[..., 0].astype(np.uint8), 'L'), 'PNG'))
ga = noise(H, W, 2)
png_sources['png_gray_alpha8.png'] = ({'ct': 4, 'depth': 8, 'samples': ga}, pillow_save(Image.fromarray(ga.astype(np.uint8), 'LA'), 'PNG'))
rgb8 = noise(H, W, 3)
rgb8[0, 0] = [77, 77, 77]           # a gray pixel inside a colour image (libpng keeps it as is)
png_sources['png_rgb8.png'] = ({'ct': 2, 'depth': 8, 'samples': rgb8}, pillow_save(Image.fromarray(rgb8.astype(np.uint8), 'RGB'), 'PNG'))
rgba8 = noise(H, W, 4)
png_sources['png_rgba8.png'] = ({'ct': 6, 'depth': 8, 'samples': rgba8}, pillow_save(Image.fromarray(rgba8.astype(np.uint8), 'RGBA'), 'PNG'))

pal = noise(40, 1, 3)[:, 0]
idx = RNG.integers(0, 40, size=(H, W, 1))
p_img = Image.fromarray(idx[..., 0].astype(np.uint8), 'P')
p_img.putpalette(pal.astype(np.uint8).flatten().tolist())
png_sources['png_palette8.png'] = ({'ct': 3, 'depth': 8, 'samples': idx, 'palette': pal}, pillow_save(p_img, 'PNG', bits=8))

pal4 = noise(12, 1, 3)[:, 0]
idx4 = RNG.integers(0, 12, size=(H, W, 1))
pa4 = [0, 128, 255, 40]
p4 = Image.fromarray(idx4[..., 0].astype(np.uint8), 'P')
p4.putpalette(pal4.astype(np.uint8).flatten().tolist())
png_sources['png_palette4_trns.png'] = ({'ct': 3, 'depth': 4, 'samples': idx4, 'palette': pal4, 'palette_alpha': pa4},
                                        pillow_save(p4, 'PNG', transparency=bytes(pa4)))

pal2 = noise(4, 1, 3)[:, 0]
idx2 = RNG.integers(0, 4, size=(H, W, 1))
p2 = Image.fromarray(idx2[..., 0].astype(np.uint8), 'P')
p2.putpalette(pal2.astype(np.uint8).flatten().tolist())
png_sources['png_palette2.png'] = ({'ct': 3, 'depth': 2, 'samples': idx2, 'palette': pal2}, pillow_save(p2, 'PNG'))

g1 = noise(H, W, 1, hi=2)
png_sources['png_gray1.png'] = ({'ct': 0, 'depth': 1, 'samples': g1},
                                pillow_save(Image.fromarray((g1[..., 0] * 255).astype(np.uint8), 'L').convert('1'), 'PNG'))

gt = noise(H, W, 1)
gt[1, 2] = gt[3, 4] = 99
png_sources['png_gray8_trns.png'] = ({'ct': 0, 'depth': 8, 'samples': gt, 'trns': 99},
                                     pillow_save(Image.fromarray(gt[..., 0].astype(np.uint8), 'L'), 'PNG', transparency=99))
rt = noise(H, W, 3)
rt[2, 3] = rt[5, 6] = [10, 20, 30]
png_sources['png_rgb8_trns.png'] = ({'ct': 2, 'depth': 8, 'samples': rt, 'trns': (10, 20, 30)},
                                    pillow_save(Image.fromarray(rt.astype(np.uint8), 'RGB'), 'PNG', transparency=(10, 20, 30)))

g16 = noise(H, W, 1, hi=65536)
png_sources['png_gray16.png'] = ({'ct': 0, 'depth': 16, 'samples': g16}, png_bytes(g16, 0, 16))
rgba16 = noise(H, W, 4, hi=65536)
rgba16[0, 1, :3] = 40000           # gray at 16 bits: libpng keeps it exactly
png_sources['png_rgba16.png'] = ({'ct': 6, 'depth': 16, 'samples': rgba16}, png_bytes(rgba16, 6, 16))
rgb16 = noise(H, W, 3, hi=65536)
png_sources['png_rgb16.png'] = ({'ct': 2, 'depth': 16, 'samples': rgb16}, png_bytes(rgb16, 2, 16))
rgbi = noise(13, 10, 3)
png_sources['png_rgb8_interlaced.png'] = ({'ct': 2, 'depth': 8, 'samples': rgbi}, png_bytes(rgbi, 2, 8, interlace=True))

for name, (src, data) in png_sources.items():
    add(name, data)
    # The file holds the source pixels: Pillow reads them back (as 8-bit RGBA).
    img = Image.open(io.BytesIO(data))
    if src['depth'] == 16 and src['ct'] == 0:
        check(np.array_equal(np.asarray(img, dtype=np.int64), src['samples'][..., 0]), name + ': Pillow disagrees')
    else:
        full = tf_png(src, 4)           # RGBA 8-bit with tRNS alpha: what Pillow's RGBA is
        if src['ct'] == 3 and src.get('palette_alpha') is None or src['ct'] in (0, 2) and src.get('trns') is None:
            full[..., 3] = 255          # Pillow's RGBA of an image without alpha is opaque
        check(np.array_equal(pillow_rgba(data), full), name + ': Pillow disagrees')
    for ch in (0, 1, 3, 4):
        case(name, 'decodePng', [ch], tf_png(src, ch))

# ---- BMP -----------------------------------------------------------------------------------
bmp24 = noise(6, 9, 3)                  # 9*3 = 27 bytes a row: one byte of padding
add('bmp_rgb24.bmp', pillow_save(Image.fromarray(bmp24.astype(np.uint8), 'RGB'), 'BMP'))
bmp32 = noise(5, 7, 4)
add('bmp_rgba32.bmp', pillow_save(Image.fromarray(bmp32.astype(np.uint8), 'RGBA'), 'BMP'))
bmptd = noise(4, 5, 3)
add('bmp_rgb24_topdown.bmp', bmp_bytes(bmptd, top_down=True))
bmpg = noise(5, 6, 1)
add('bmp_gray8.bmp', pillow_save(Image.fromarray(bmpg[..., 0].astype(np.uint8), 'L'), 'BMP'))

check(np.array_equal(pillow_rgba(files['bmp_rgb24.bmp'])[..., :3], bmp24), 'bmp_rgb24: Pillow disagrees')
check(np.array_equal(pillow_rgba(files['bmp_rgb24_topdown.bmp'])[..., :3], bmptd), 'bmp_topdown: Pillow disagrees')
check(np.array_equal(pillow_rgba(files['bmp_gray8.bmp'])[..., 0], bmpg[..., 0]), 'bmp_gray8: Pillow disagrees')
# Pillow writes RGBA as 32-bit BGRA rows; it reads them back without the alpha byte, so check the
# colour through Pillow and the alpha bytes where the BITMAPINFOHEADER says they are.
check(np.array_equal(pillow_rgba(files['bmp_rgba32.bmp'])[..., :3], bmp32[..., :3]), 'bmp_rgba32: Pillow disagrees')
raw32 = files['bmp_rgba32.bmp']
off, = struct.unpack_from('<I', raw32, 10)
check(struct.unpack_from('<H', raw32, 28)[0] == 32, 'bmp_rgba32 is not 32-bit')
stored = np.frombuffer(raw32[off:], dtype=np.uint8).reshape(5, 7, 4)[::-1]
check(np.array_equal(stored[..., 3], bmp32[..., 3]), 'bmp_rgba32: alpha bytes differ')

for name, src, img_c in (('bmp_rgb24.bmp', bmp24, 3), ('bmp_rgba32.bmp', bmp32, 4),
                         ('bmp_rgb24_topdown.bmp', bmptd, 3), ('bmp_gray8.bmp', bmpg, 1)):
    for ch in (0, 3, 4):
        case(name, 'decodeBmp', [ch], tf_bmp(src, ch, img_c))

# ---- GIF -----------------------------------------------------------------------------------
GH, GW = 16, 20                          # >= 16 both ways: Pillow writes them interlaced
gpal = noise(64, 1, 3)[:, 0]
g_idx = RNG.integers(0, 64, size=(GH, GW))


def p_image(indices, palette):
    im = Image.fromarray(indices.astype(np.uint8), 'P')
    im.putpalette(palette.astype(np.uint8).flatten().tolist())
    return im


add('gif_single.gif', pillow_save(p_image(g_idx, gpal), 'GIF'))
single_rgb = gpal[g_idx]

# Three frames: the second changes a block (Pillow writes only that rectangle, so the decoder
# must keep the rest of the previous frame), the third has a palette of its own.
f0 = g_idx
f1 = f0.copy()
f1[3:9, 5:14] = RNG.integers(0, 64, size=(6, 9))
gpal2 = noise(64, 1, 3)[:, 0]
f2 = RNG.integers(0, 64, size=(GH, GW))
frames = [p_image(f0, gpal), p_image(f1, gpal), p_image(f2, gpal2)]
add('gif_animated.gif', pillow_save(frames[0], 'GIF', save_all=True, append_images=frames[1:],
                                    duration=100, loop=0, disposal=1, optimize=False))
anim_rgb = np.stack([gpal[f0], gpal[f1], gpal2[f2]])

# Two frames with transparent index 63 (the first frame does not use it): where the second frame
# has index 63, the first frame's pixel stays.
t0 = RNG.integers(0, 63, size=(GH, GW))
t1 = RNG.integers(0, 64, size=(GH, GW))
t1[::3, ::2] = 63
add('gif_transparent.gif', pillow_save(p_image(t0, gpal), 'GIF', save_all=True, append_images=[p_image(t1, gpal)],
                                       transparency=63, disposal=1, optimize=False))
trans_rgb = np.stack([gpal[t0], np.where((t1 == 63)[..., None], gpal[t0], gpal[t1])])

for name, want in (('gif_single.gif', single_rgb[None]), ('gif_animated.gif', anim_rgb), ('gif_transparent.gif', trans_rgb)):
    im = Image.open(io.BytesIO(files[name]))
    check(im.n_frames == want.shape[0], name + ': frame count')
    for k in range(im.n_frames):
        im.seek(k)
        check(np.array_equal(np.asarray(im.convert('RGB'), dtype=np.int64), want[k]), f'{name}: Pillow disagrees on frame {k}')
    case(name, 'decodeGif', [], want)
    case(name, 'decodeImage', [0, 'int32', False], want[0])
    case(name, 'decodeImage', [3, 'int32', True], want)

# Which frames of the animated GIF are partial (the test checks the composition takes the rest
# from the previous frame).
im = Image.open(io.BytesIO(files['gif_animated.gif']))
tiles = []
for k in range(im.n_frames):
    im.seek(k)
    tiles.append(list(im.tile[0][1]))
check(tiles[0] == [0, 0, GW, GH], 'the first frame must fill the canvas')
check(any(t != [0, 0, GW, GH] for t in tiles[1:]), 'no partial frame was written')

# ---- JPEG ----------------------------------------------------------------------------------
JH, JW = 24, 40
jrgb = smooth(JH, JW)
jimg = Image.fromarray(jrgb, 'RGB')
add('jpeg_baseline420.jpg', pillow_save(jimg, 'JPEG', quality=90, subsampling=2))
add('jpeg_baseline444.jpg', pillow_save(jimg, 'JPEG', quality=90, subsampling=0))
add('jpeg_progressive.jpg', pillow_save(jimg, 'JPEG', quality=85, subsampling=2, progressive=True))
add('jpeg_gray.jpg', pillow_save(Image.fromarray(jrgb[..., 1], 'L'), 'JPEG', quality=90))

for name in ('jpeg_baseline420.jpg', 'jpeg_baseline444.jpg', 'jpeg_progressive.jpg', 'jpeg_gray.jpg'):
    im = Image.open(io.BytesIO(files[name]))
    gray = im.mode == 'L'
    rgb = np.asarray(im.convert('RGB'), dtype=np.uint8)
    g = Image.open(io.BytesIO(files[name]))
    g.draft('L', g.size)                # libjpeg's own grayscale output (the Y plane)
    y = np.asarray(g, dtype=np.uint8)
    check(y.shape == (JH, JW), name + ': gray draft changed the size')
    case(name, 'decodeJpeg', [0], y[..., None] if gray else rgb, lossy=True)
    case(name, 'decodeJpeg', [1], y[..., None], lossy=True)
    case(name, 'decodeJpeg', [3], rgb, lossy=True)

# ---- the pixels of tfjs-node's own test images ----------------------------------------------
# tfjs-node/src/image_test.ts decodes 2x2 images of these pixels and expects numbers that came
# from TensorFlow itself (the gray of the PNG above all); test/82 holds torchrnn's decode to them.
TFJS_NODE = np.array([[[238, 101, 0], [50, 50, 50]], [[100, 50, 0], [200, 100, 50]]])
TFJS_NODE_GIF1 = np.array([[[200, 100, 50], [34, 68, 102]], [[170, 0, 102], [255, 255, 255]]])
add('png_tfjs_node_2x2.png', pillow_save(Image.fromarray(TFJS_NODE.astype(np.uint8), 'RGB'), 'PNG'))
add('bmp_tfjs_node_2x2.bmp', pillow_save(Image.fromarray(TFJS_NODE.astype(np.uint8), 'RGB'), 'BMP'))
tn_pal = np.concatenate([TFJS_NODE.reshape(4, 3), TFJS_NODE_GIF1.reshape(4, 3)])
tn_frames = [p_image(np.arange(4).reshape(2, 2), tn_pal), p_image(np.arange(4, 8).reshape(2, 2), tn_pal)]
add('gif_tfjs_node_2x2.gif', pillow_save(tn_frames[0], 'GIF', save_all=True, append_images=tn_frames[1:], optimize=False, disposal=1))
check(np.array_equal(pillow_rgba(files['png_tfjs_node_2x2.png'])[..., :3], TFJS_NODE), 'png_tfjs_node: Pillow disagrees')
im = Image.open(io.BytesIO(files['gif_tfjs_node_2x2.gif']))
for k, want in enumerate((TFJS_NODE, TFJS_NODE_GIF1)):
    im.seek(k)
    check(np.array_equal(np.asarray(im.convert('RGB'), dtype=np.int64), want), f'gif_tfjs_node: frame {k}')

# --------------------------------------------------------------------------------------------
os.makedirs(OUT, exist_ok=True)
for name, data in sorted(files.items()):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
with open(os.path.join(OUT, 'reference.json'), 'w') as f:
    json.dump({'generator': 'scripts/gen-fixtures-images.py', 'pillow': Image.__version__,
               'source_rgb': {'jpeg': b64(jrgb)}, 'cases': cases}, f, indent=0, separators=(',', ':'))
    f.write('\n')
print(f'gen-fixtures-images: {len(files)} files, {len(cases)} cases in {os.path.relpath(OUT)}')
