//! The printed indicium, as postage meters print it: an ECC 200 Data Matrix
//! holding the exact indicium bytes, beside the human-readable fields.
//!
//! * PNG ([`png`]): 8-bit grayscale, white background. The symbol is at
//!   the top left with a quiet zone of [`QUIET`] modules of [`MODULE`]
//!   pixels; the fields are drawn to its right with a built-in 5x7 bitmap
//!   font (upper case, digits, `. - : / #`), each dot [`DOT`] pixels, the
//!   first line starting one module below the symbol's top edge.
//! * SVG: the same layout as text: the symbol as one even-odd path in
//!   module units, the fields as `<text>` elements.
//!
//! [`decode_png`] reads back a PNG of this layout without a general
//! scanner: it finds the symbol's top-left corner (the first dark pixel of
//! the image, which the layout reserves for the symbol), measures the
//! module from the timing pattern, samples the centre of every module and
//! decodes the grid with [`datamatrix::DataMatrix::decode`] (placement,
//! Reed-Solomon, data). Tests also decode it with an independent decoder
//! (`dmtxread`).

use std::fmt::Write as _;

use datamatrix::{DataMatrix, SymbolList, placement::PathSegment};

use crate::money;
use crate::postage::{IndiciumInfo, date_text};

/// Pixels per module in the PNG.
pub const MODULE: usize = 6;
/// Quiet zone around the symbol, in modules.
pub const QUIET: usize = 2;
/// Pixels per font dot in the PNG.
pub const DOT: usize = 2;
/// Largest PNG [`decode_png`] reads (pixels).
pub const MAX_PIXELS: usize = 4_000_000;

/// Why a printed indicium cannot be made or read back.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The bytes do not fit a Data Matrix.
    #[error("the indicium does not fit a Data Matrix: {0}")]
    Encode(String),
    /// Not a PNG, or not one this module reads.
    #[error("not a readable PNG: {0}")]
    Png(String),
    /// A PNG, but no Data Matrix of the printed layout in it.
    #[error("no readable Data Matrix in the image: {0}")]
    NoSymbol(String),
}

/// The symbol's modules: `(width, height, dark)` row by row, alignment
/// pattern included.
pub fn symbol(bytes: &[u8]) -> Result<(usize, usize, Vec<bool>), PrintError> {
    let code = DataMatrix::encode(bytes, SymbolList::default().enforce_square())
        .map_err(|e| PrintError::Encode(format!("{e:?}")))?;
    let bitmap = code.bitmap();
    Ok((bitmap.width(), bitmap.height(), bitmap.bits().to_vec()))
}

/// The human-readable lines printed beside the symbol.
pub fn lines(info: &IndiciumInfo) -> Vec<String> {
    vec![
        "CERTMETER POSTAGE".into(),
        format!("POSTAGE {}", money::format(info.postage)),
        format!("DATE {}", date_text(info.date)),
        format!("FROM {}", info.origin),
        format!("TO {}", info.destination),
        format!("CLASS {}", info.class),
        format!("METER {}", info.device.to_ascii_uppercase()),
        format!("CERT {} PIECE {}", info.certificate_serial, info.pieces),
        format!("ASC {}", money::format(info.ascending)),
        format!("DESC {}", money::format(info.descending)),
    ]
}

/// Glyph rows (5 low bits each, top row first) of the built-in font.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        '#' => [0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A],
        ' ' => [0; 7],
        _ => [0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
    }
}

/// Text advance per character and line height, in pixels.
const CHAR_W: usize = 6 * DOT;
const LINE_H: usize = 10 * DOT;

/// The PNG of the printed indicium.
pub fn png(bytes: &[u8], info: &IndiciumInfo) -> Result<Vec<u8>, PrintError> {
    let (w, h, bits) = symbol(bytes)?;
    let text = lines(info);
    let sym_w = (w + 2 * QUIET) * MODULE;
    let sym_h = (h + 2 * QUIET) * MODULE;
    let text_x = sym_w;
    let text_y = (QUIET + 1) * MODULE;
    let longest = text.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let width = text_x + longest * CHAR_W + QUIET * MODULE;
    let height = sym_h.max(text_y + text.len() * LINE_H + QUIET * MODULE);
    let mut img = vec![255u8; width * height];
    let mut dark = |x: usize, y: usize| {
        if let Some(p) = img.get_mut(y * width + x) {
            *p = 0;
        }
    };
    for (i, _) in bits.iter().enumerate().filter(|(_, b)| **b) {
        let (mx, my) = (i % w + QUIET, i / w + QUIET);
        for dy in 0..MODULE {
            for dx in 0..MODULE {
                dark(mx * MODULE + dx, my * MODULE + dy);
            }
        }
    }
    for (n, line) in text.iter().enumerate() {
        for (k, c) in line.chars().enumerate() {
            let rows = glyph(c.to_ascii_uppercase());
            for (ry, row) in rows.iter().enumerate() {
                for rx in 0..5 {
                    if row & (0x10 >> rx) != 0 {
                        for dy in 0..DOT {
                            for dx in 0..DOT {
                                dark(
                                    text_x + k * CHAR_W + rx * DOT + dx,
                                    text_y + n * LINE_H + ry * DOT + dy,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let png_err = |e: png::EncodingError| PrintError::Png(e.to_string());
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(png_err)?;
        writer.write_image_data(&img).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
    }
    Ok(out)
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// The SVG of the printed indicium (same layout as [`png`], in module units).
pub fn svg(bytes: &[u8], info: &IndiciumInfo) -> Result<String, PrintError> {
    let code = DataMatrix::encode(bytes, SymbolList::default().enforce_square())
        .map_err(|e| PrintError::Encode(format!("{e:?}")))?;
    let bitmap = code.bitmap();
    let (w, h) = (bitmap.width(), bitmap.height());
    let text = lines(info);
    let m = MODULE;
    let sym_w = (w + 2 * QUIET) * m;
    let longest = text.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let width = sym_w + longest * CHAR_W + QUIET * m;
    let height = ((h + 2 * QUIET) * m).max((QUIET + 1) * m + text.len() * LINE_H + QUIET * m);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    let _ = writeln!(
        s,
        "<rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>"
    );
    let _ = write!(
        s,
        "<path transform=\"scale({m})\" fill=\"#000\" fill-rule=\"evenodd\" shape-rendering=\"crispEdges\" d=\"M{QUIET},{QUIET}"
    );
    for part in bitmap.path() {
        let _ = match part {
            PathSegment::Horizontal(n) => write!(s, "h{n}"),
            PathSegment::Vertical(n) => write!(s, "v{n}"),
            PathSegment::Move(dx, dy) => write!(s, "m{dx},{dy}"),
            PathSegment::Close => write!(s, "z"),
        };
    }
    s.push_str("\"/>\n");
    let _ = writeln!(
        s,
        "<g font-family=\"monospace\" font-size=\"{}\" fill=\"#000\">",
        7 * DOT + 2
    );
    for (n, line) in text.iter().enumerate() {
        let y = (QUIET + 1) * m + n * LINE_H + 7 * DOT;
        let _ = writeln!(
            s,
            "<text x=\"{sym_w}\" y=\"{y}\">{}</text>",
            xml_escape(line)
        );
    }
    s.push_str("</g>\n</svg>\n");
    Ok(s)
}

/// Reads the indicium bytes back from a PNG of the printed layout.
pub fn decode_png(data: &[u8]) -> Result<Vec<u8>, PrintError> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(data));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec
        .read_info()
        .map_err(|e| PrintError::Png(e.to_string()))?;
    let info = reader.info();
    let (width, height) = (info.width as usize, info.height as usize);
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(PrintError::Png(format!(
            "{width}x{height} pixels is too large"
        )));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| PrintError::Png("image too large".into()))?;
    let mut buf = vec![0; size];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| PrintError::Png(e.to_string()))?;
    let channels = frame.color_type.samples();
    let line = frame.line_size;
    let luma = |x: usize, y: usize| -> Option<u32> {
        let at = y.checked_mul(line)? + x.checked_mul(channels)?;
        let px = buf.get(at..at + channels)?;
        Some(match channels {
            1 | 2 => u32::from(px[0]),
            _ => (u32::from(px[0]) * 3 + u32::from(px[1]) * 6 + u32::from(px[2])) / 10,
        })
    };
    let dark = |x: usize, y: usize| luma(x, y).is_some_and(|l| l < 128);
    let none = |why: &str| PrintError::NoSymbol(why.into());
    // The top-left module: the first dark pixel, row by row.
    let (x0, y0) = (0..height)
        .find_map(|y| (0..width).find(|&x| dark(x, y)).map(|x| (x, y)))
        .ok_or_else(|| none("the image is blank"))?;
    // The module: the first dark run of the timing row (dark, light, ...).
    let module = (x0..width).take_while(|&x| dark(x, y0)).count();
    // The finder: the solid left column and bottom row.
    let h_px = (y0..height).take_while(|&y| dark(x0, y)).count();
    let w_px = (x0..width).take_while(|&x| dark(x, y0 + h_px - 1)).count();
    if module == 0 || h_px % module != 0 || w_px % module != 0 || h_px < 10 * module {
        return Err(none("no finder pattern of whole modules"));
    }
    let (cols, rows) = (w_px / module, h_px / module);
    let half = module / 2;
    let bits: Vec<bool> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (c, r)))
        .map(|(c, r)| dark(x0 + c * module + half, y0 + r * module + half))
        .collect();
    DataMatrix::decode(&bits, cols).map_err(|e| PrintError::NoSymbol(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> IndiciumInfo {
        IndiciumInfo {
            device: "PB-1".into(),
            certificate_serial: 3,
            pieces: 1,
            postage: 55,
            ascending: 55,
            descending: 945,
            date: 1_699_920_000,
            origin: "10001".into(),
            destination: "SW1A 1AA".into(),
            class: "FIRST-CLASS".into(),
        }
    }

    #[test]
    fn png_reads_back_byte_for_byte() {
        for len in [1usize, 40, 190, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let image = png(&bytes, &info()).unwrap();
            assert_eq!(decode_png(&image).unwrap(), bytes, "{len}");
        }
    }

    #[test]
    fn svg_has_the_symbol_and_the_fields() {
        let s = svg(b"indicium", &info()).unwrap();
        assert!(s.starts_with("<?xml"));
        assert!(s.contains("fill-rule=\"evenodd\""));
        assert!(s.contains(">POSTAGE 0.55</text>"));
        assert!(s.contains(">TO SW1A 1AA</text>"));
        assert!(s.contains(">DATE 2023-11-14</text>"));
    }

    #[test]
    fn other_images_are_refused() {
        assert!(matches!(decode_png(b"not a png"), Err(PrintError::Png(_))));
        let mut blank = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut blank, 8, 8);
            enc.set_color(png::ColorType::Grayscale);
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[255; 64]).unwrap();
        }
        assert!(matches!(decode_png(&blank), Err(PrintError::NoSymbol(_))));
    }
}
