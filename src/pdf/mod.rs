//! PDF documents (audit reports, invoice visualisations), written page by page to any
//! `io::Write`: each finished page goes out at once, so a report of a million events needs the
//! memory of one page, not of the whole file. Built on `pdf-writer` (syntax) and `subsetter`
//! (embedding only the glyphs used); see the README for why these.
//!
//! The total page count ("Strona 3 z 17") is not known while pages stream out, so every footer
//! draws a small form object whose content (the count) is written once, after the last page.

pub mod font;
mod layout;

use std::io::{self, Write};

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::writers::{Catalog, DocumentInfo};
use pdf_writer::{Chunk, Content, Filter, Finish, Name, Rect, Ref, Str, TextStr};

pub use crate::domain::Lang;
pub use font::DocFont;
pub use layout::{Column, Flow, MARGIN};

/// A4 portrait, in points.
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;

const FONT: Name<'static> = Name(b"F1");
const TOTAL: Name<'static> = Name(b"Total");
/// Size of the deferred page count (it is drawn inside a form object at this fixed size).
pub const FOOTER_SIZE: f32 = 8.0;
const SUBSET_NAME: &[u8] = b"KSEFGW+DejaVuSans";

/// A PDF being written to `out`, one page at a time.
pub struct PdfDoc<W: Write> {
    out: W,
    pos: usize,
    /// Byte offset of each object, by id − 1 (for the cross-reference table).
    offsets: Vec<usize>,
    next_id: i32,
    catalog: Ref,
    pages: Ref,
    font_ref: Ref,
    total: Ref,
    page_refs: Vec<Ref>,
    pub font: DocFont,
    content: Option<Content>,
    title: String,
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

impl<W: Write> PdfDoc<W> {
    pub fn new(out: W, title: &str) -> io::Result<Self> {
        let font = DocFont::new().map_err(io::Error::other)?;
        let mut doc = Self {
            out,
            pos: 0,
            offsets: Vec::new(),
            next_id: 1,
            catalog: Ref::new(1),
            pages: Ref::new(1),
            font_ref: Ref::new(1),
            total: Ref::new(1),
            page_refs: Vec::new(),
            font,
            content: None,
            title: title.to_owned(),
        };
        doc.catalog = doc.alloc();
        doc.pages = doc.alloc();
        doc.font_ref = doc.alloc();
        doc.total = doc.alloc();
        // The binary comment marks the file as binary for transfer tools, as the spec advises.
        doc.raw(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
        Ok(doc)
    }

    fn alloc(&mut self) -> Ref {
        let r = Ref::new(self.next_id);
        self.next_id += 1;
        r
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.pos += bytes.len();
        Ok(())
    }

    /// Writes one object (the chunk must hold exactly the object `id`).
    fn put(&mut self, id: Ref, build: impl FnOnce(&mut Chunk)) -> io::Result<()> {
        let mut chunk = Chunk::new();
        build(&mut chunk);
        let idx = usize::try_from(id.get() - 1).unwrap_or(0);
        if self.offsets.len() <= idx {
            self.offsets.resize(idx + 1, 0);
        }
        self.offsets[idx] = self.pos;
        self.raw(chunk.as_bytes())
    }

    /// Number of the page being drawn (1-based); 0 before the first.
    pub fn page_number(&self) -> usize {
        self.page_refs.len() + usize::from(self.content.is_some())
    }

    /// Finishes the current page (if any) and starts a new one.
    pub fn begin_page(&mut self) -> io::Result<()> {
        self.end_page()?;
        self.content = Some(Content::new());
        Ok(())
    }

    fn end_page(&mut self) -> io::Result<()> {
        let Some(content) = self.content.take() else { return Ok(()) };
        let data = deflate(&content.finish());
        let content_id = self.alloc();
        self.put(content_id, |c| {
            c.stream(content_id, &data).filter(Filter::FlateDecode);
        })?;
        let page_id = self.alloc();
        let (pages, font, total) = (self.pages, self.font_ref, self.total);
        self.put(page_id, |c| {
            let mut page = c.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(pages).contents(content_id);
            let mut res = page.resources();
            res.fonts().pair(FONT, font);
            res.x_objects().pair(TOTAL, total);
        })?;
        self.page_refs.push(page_id);
        Ok(())
    }

    fn content(&mut self) -> &mut Content {
        self.content.get_or_insert_with(Content::new)
    }

    /// Text with its baseline starting at (`x`, `y`), `y` measured from the page's bottom.
    pub fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        let glyphs = self.font.encode(text);
        let c = self.content();
        c.begin_text().set_font(FONT, size).next_line(x, y).show(Str(&glyphs)).end_text();
    }

    /// A filled rectangle in the given gray (0 black, 1 white).
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32) {
        let c = self.content();
        c.save_state().set_fill_gray(gray).rect(x, y, w, h).fill_nonzero().restore_state();
    }

    /// A horizontal rule.
    pub fn hline(&mut self, x1: f32, x2: f32, y: f32, width: f32, gray: f32) {
        let c = self.content();
        c.save_state().set_stroke_gray(gray).set_line_width(width).move_to(x1, y).line_to(x2, y).stroke();
        c.restore_state();
    }

    /// The document's page count, once known, drawn at (`x`, `y`) in [`FOOTER_SIZE`].
    pub fn page_total(&mut self, x: f32, y: f32) {
        let c = self.content();
        c.save_state().transform([1.0, 0.0, 0.0, 1.0, x, y]).x_object(TOTAL).restore_state();
    }

    /// A QR code whose dark modules are drawn as squares, `module` points each, top-left at
    /// (`x`, `y_top`), with the standard four-module quiet zone inside the given size.
    pub fn qr(&mut self, code: &qrcode::QrCode, x: f32, y_top: f32, module: f32) {
        let w = code.width();
        let quiet = 4.0 * module;
        let c = self.content();
        c.save_state().set_fill_gray(0.0);
        for (i, color) in code.to_colors().iter().enumerate() {
            if *color == qrcode::Color::Dark {
                let (col, row) = ((i % w) as f32, (i / w) as f32);
                c.rect(x + quiet + col * module, y_top - quiet - (row + 1.0) * module, module, module);
            }
        }
        c.fill_nonzero().restore_state();
    }

    /// Writes the deferred objects (page count, font, page tree, catalogue) and the
    /// cross-reference table; returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        if self.page_refs.is_empty() && self.content.is_none() {
            self.begin_page()?;
        }
        self.end_page()?;

        // The page count, drawn by every footer.
        let count = self.page_refs.len().to_string();
        let glyphs = self.font.encode(&count);
        let mut total = Content::new();
        total.begin_text().set_font(FONT, FOOTER_SIZE).next_line(0.0, 0.0).show(Str(&glyphs)).end_text();
        let total_data = total.finish();
        let (total_id, font_ref) = (self.total, self.font_ref);
        self.put(total_id, |c| {
            let mut form = c.form_xobject(total_id, &total_data);
            form.bbox(Rect::new(0.0, -5.0, 200.0, 20.0));
            form.resources().fonts().pair(FONT, font_ref);
        })?;

        self.write_font()?;

        let (pages, kids) = (self.pages, self.page_refs.clone());
        let n = i32::try_from(kids.len()).unwrap_or(i32::MAX);
        self.put(pages, |c| {
            c.pages(pages).kids(kids).count(n);
        })?;
        let catalog = self.catalog;
        self.put(catalog, |c| {
            c.indirect(catalog).start::<Catalog>().pages(pages);
        })?;
        let info = self.alloc();
        let title = self.title.clone();
        self.put(info, |c| {
            c.indirect(info).start::<DocumentInfo>().title(TextStr(&title)).producer(TextStr("ksef-gateway"));
        })?;

        let xref_at = self.pos;
        let mut xref = format!("xref\n0 {}\n0000000000 65535 f\r\n", self.offsets.len() + 1);
        for off in &self.offsets {
            xref.push_str(&format!("{off:010} 00000 n\r\n"));
        }
        xref.push_str(&format!(
            "trailer\n<< /Size {} /Root {} 0 R /Info {} 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
            self.offsets.len() + 1,
            catalog.get(),
            info.get()
        ));
        self.raw(xref.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Type0 font over a CID TrueType subset with Identity-H codes, plus `ToUnicode`.
    fn write_font(&mut self) -> io::Result<()> {
        let (cid, descriptor, file, cmap) = (self.alloc(), self.alloc(), self.alloc(), self.alloc());
        let subset = self.font.subset().map_err(io::Error::other)?;
        let packed = deflate(&subset);
        let length1 = i32::try_from(subset.len()).unwrap_or(i32::MAX);
        self.put(file, |c| {
            c.stream(file, &packed).filter(Filter::FlateDecode).pair(Name(b"Length1"), length1);
        })?;
        let info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
        let mut unicode = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), info);
        for (g, ch) in self.font.chars() {
            unicode.pair(g, ch);
        }
        let cmap_data = unicode.finish();
        self.put(cmap, |c| {
            c.stream(cmap, &cmap_data);
        })?;
        let (bbox, ascent, descent, cap) =
            (self.font.bbox(), self.font.ascent(), self.font.descent(), self.font.cap_height());
        self.put(descriptor, |c| {
            c.font_descriptor(descriptor)
                .name(Name(SUBSET_NAME))
                .flags(FontFlags::NON_SYMBOLIC)
                .bbox(Rect::new(bbox[0], bbox[1], bbox[2], bbox[3]))
                .italic_angle(0.0)
                .ascent(ascent)
                .descent(descent)
                .cap_height(cap)
                .stem_v(80.0)
                .font_file2(file);
        })?;
        let widths = self.font.subset_widths();
        self.put(cid, |c| {
            let mut f = c.cid_font(cid);
            f.subtype(CidFontType::Type2)
                .base_font(Name(SUBSET_NAME))
                .system_info(info)
                .font_descriptor(descriptor)
                .cid_to_gid_map_predefined(Name(b"Identity"));
            f.widths().consecutive(0, widths);
            f.finish();
        })?;
        let font_ref = self.font_ref;
        self.put(font_ref, |c| {
            c.type0_font(font_ref)
                .base_font(Name(SUBSET_NAME))
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid)
                .to_unicode(cmap);
        })
    }
}
