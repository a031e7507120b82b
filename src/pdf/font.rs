//! The one typeface of every PDF the gateway writes: DejaVu Sans, vendored under
//! `assets/fonts/` (Bitstream Vera licence, redistribution allowed) and compiled in, so a
//! report looks the same on every machine and Polish letters always have glyphs.

use std::collections::BTreeMap;

use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

/// The TrueType file, compiled in (the binary must not depend on fonts installed on the host).
pub const DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The font as one document uses it: metrics for layout, and the glyphs used so far, so the
/// document embeds only those (subset) and maps each back to its character (`ToUnicode`,
/// which keeps the text extractable and searchable).
pub struct DocFont {
    face: Face<'static>,
    units_per_em: f32,
    remapper: GlyphRemapper,
    /// New (subset) glyph id → the character it shows.
    chars: BTreeMap<u16, char>,
}

impl DocFont {
    pub fn new() -> Result<Self, String> {
        let face = Face::parse(DEJAVU_SANS, 0).map_err(|e| format!("font: {e}"))?;
        let units_per_em = f32::from(face.units_per_em());
        Ok(Self { face, units_per_em, remapper: GlyphRemapper::new(), chars: BTreeMap::new() })
    }

    fn glyph(&self, c: char) -> GlyphId {
        // Characters DejaVu lacks show as '?' rather than an empty box.
        self.face.glyph_index(c).or_else(|| self.face.glyph_index('?')).unwrap_or(GlyphId(0))
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let units: u32 =
            text.chars().map(|c| u32::from(self.face.glyph_hor_advance(self.glyph(c)).unwrap_or(0))).sum();
        units as f32 * size / self.units_per_em
    }

    /// The 2-byte glyph codes (Identity-H) of `text`, registering each glyph for the subset.
    pub fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let new = self.remapper.remap(self.glyph(c).0);
            self.chars.entry(new).or_insert(c);
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }

    /// Breaks `text` into lines no wider than `max` at `size`: at spaces where possible, inside
    /// a word only when the word alone is too wide (hashes, references). Explicit newlines stay.
    pub fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for word in para.split(' ') {
                let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
                if self.width(&candidate, size) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                for c in word.chars() {
                    line.push(c);
                    if self.width(&line, size) > max && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    pub fn ascent(&self) -> f32 {
        self.to_pdf(self.face.ascender())
    }

    pub fn descent(&self) -> f32 {
        self.to_pdf(self.face.descender())
    }

    pub fn cap_height(&self) -> f32 {
        self.to_pdf(self.face.capital_height().unwrap_or(self.face.ascender()))
    }

    /// Glyph-space bounding box (thousandths of an em, as PDF font descriptors use).
    pub fn bbox(&self) -> [f32; 4] {
        let b = self.face.global_bounding_box();
        [self.to_pdf(b.x_min), self.to_pdf(b.y_min), self.to_pdf(b.x_max), self.to_pdf(b.y_max)]
    }

    fn to_pdf(&self, units: i16) -> f32 {
        f32::from(units) * 1000.0 / self.units_per_em
    }

    /// Widths (thousandths of an em) of the subset's glyphs, in new-id order.
    pub fn subset_widths(&self) -> Vec<f32> {
        self.remapper
            .remapped_gids()
            .map(|old| {
                f32::from(self.face.glyph_hor_advance(GlyphId(old)).unwrap_or(0)) * 1000.0 / self.units_per_em
            })
            .collect()
    }

    /// The subset font file, holding only the glyphs the document used.
    pub fn subset(&self) -> Result<Vec<u8>, String> {
        subsetter::subset(DEJAVU_SANS, 0, &self.remapper).map_err(|e| format!("font subset: {e}"))
    }

    /// Subset glyph id → character, for the `ToUnicode` map.
    pub fn chars(&self) -> impl Iterator<Item = (u16, char)> + '_ {
        self.chars.iter().map(|(g, c)| (*g, *c))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn polish_letters_have_glyphs_and_long_words_break() {
        let font = DocFont::new().unwrap();
        for c in "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ".chars() {
            assert!(font.face.glyph_index(c).is_some(), "{c}");
        }
        let hash = "a".repeat(100);
        let lines = font.wrap(&format!("hash {hash}"), 8.0, 100.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(lines.iter().all(|l| font.width(l, 8.0) <= 100.0));
        assert_eq!(lines.concat().replace(' ', ""), format!("hash{hash}"));
    }
}
