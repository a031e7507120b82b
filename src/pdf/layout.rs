//! Top-to-bottom layout on A4 pages: paragraphs, label/value lines and tables whose header
//! repeats on every page they run onto; each page gets a footer with "Strona N z M".

use std::io::{self, Write};

use super::{Lang, PdfDoc, FOOTER_SIZE, PAGE_H, PAGE_W};

pub const MARGIN: f32 = 40.0;
const TOP: f32 = PAGE_H - MARGIN;
/// Lowest baseline of body text; below it sits the footer.
const BOTTOM: f32 = MARGIN + 20.0;
const CELL_PAD: f32 = 3.0;

/// One table column: its header and width in points.
#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    pub width: f32,
}

struct Table {
    columns: Vec<Column>,
    size: f32,
}

/// A document laid out from the top of each page down.
pub struct Flow<W: Write> {
    pub doc: PdfDoc<W>,
    /// Baseline of the next line, from the page's bottom.
    y: f32,
    lang: Lang,
    footer: String,
    table: Option<Table>,
}

fn leading(size: f32) -> f32 {
    size * 1.3
}

impl<W: Write> Flow<W> {
    /// `footer` is printed at the bottom left of every page (e.g. the report's title and time).
    pub fn new(out: W, title: &str, footer: String, lang: Lang) -> io::Result<Self> {
        let doc = PdfDoc::new(out, title)?;
        let mut flow = Self { doc, y: TOP, lang, footer, table: None };
        flow.new_page()?;
        Ok(flow)
    }

    pub const fn width() -> f32 {
        PAGE_W - 2.0 * MARGIN
    }

    pub fn new_page(&mut self) -> io::Result<()> {
        self.doc.begin_page()?;
        let n = self.doc.page_number();
        let label = format!("{} {n} {} ", self.lang.t("Strona", "Page"), self.lang.t("z", "of"));
        let x = PAGE_W - MARGIN - self.doc.font.width(&label, FOOTER_SIZE) - 20.0;
        self.doc.hline(MARGIN, PAGE_W - MARGIN, MARGIN + 10.0, 0.5, 0.6);
        self.doc.text(x, MARGIN, FOOTER_SIZE, &label);
        self.doc.page_total(x + self.doc.font.width(&label, FOOTER_SIZE), MARGIN);
        let footer = self.footer.clone();
        self.doc.text(MARGIN, MARGIN, FOOTER_SIZE, &footer);
        self.y = TOP;
        if self.table.is_some() {
            self.table_header();
        }
        Ok(())
    }

    /// Starts a new page unless `height` points still fit on this one.
    pub fn ensure(&mut self, height: f32) -> io::Result<()> {
        if self.y - height < BOTTOM {
            self.new_page()?;
        }
        Ok(())
    }

    pub fn space(&mut self, points: f32) {
        self.y -= points;
    }

    /// Current baseline (for drawing beside the flow, e.g. an image).
    pub fn y(&self) -> f32 {
        self.y
    }

    pub fn set_y(&mut self, y: f32) {
        self.y = y;
    }

    /// A wrapped paragraph at `x` offset from the margin, `width` wide.
    pub fn para_at(&mut self, dx: f32, width: f32, size: f32, text: &str) -> io::Result<()> {
        for line in self.doc.font.wrap(text, size, width) {
            self.ensure(leading(size))?;
            self.y -= leading(size);
            self.doc.text(MARGIN + dx, self.y, size, &line);
        }
        Ok(())
    }

    pub fn para(&mut self, size: f32, text: &str) -> io::Result<()> {
        self.para_at(0.0, Self::width(), size, text)
    }

    pub fn heading(&mut self, size: f32, text: &str) -> io::Result<()> {
        self.ensure(leading(size) * 3.0)?;
        self.space(size * 0.6);
        self.para(size, text)?;
        self.doc.hline(MARGIN, PAGE_W - MARGIN, self.y - 4.0, 0.5, 0.3);
        self.space(6.0);
        Ok(())
    }

    /// "label: value" with the values aligned in a second column.
    pub fn field(&mut self, size: f32, label: &str, value: &str) -> io::Result<()> {
        let label_w = 150.0;
        let lines = self.doc.font.wrap(value, size, Self::width() - label_w);
        self.ensure(leading(size) * lines.len().min(3) as f32)?;
        self.y -= leading(size);
        self.doc.text(MARGIN, self.y, size, label);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.ensure(leading(size))?;
                self.y -= leading(size);
            }
            self.doc.text(MARGIN + label_w, self.y, size, line);
        }
        Ok(())
    }

    /// Starts a table; its header is drawn now and again at the top of every further page.
    pub fn table_start(&mut self, columns: Vec<Column>, size: f32) -> io::Result<()> {
        self.table = Some(Table { columns, size });
        self.ensure(leading(size) * 4.0)?;
        self.table_header();
        Ok(())
    }

    pub fn table_end(&mut self) {
        self.table = None;
        self.space(6.0);
    }

    fn table_header(&mut self) {
        let Some(t) = self.table.take() else { return };
        let h = leading(t.size) + 2.0 * CELL_PAD;
        self.doc.fill_rect(MARGIN, self.y - h, Self::width(), h, 0.88);
        let mut x = MARGIN;
        for col in &t.columns {
            self.doc.text(x + CELL_PAD, self.y - CELL_PAD - t.size, t.size, &col.title);
            x += col.width;
        }
        self.y -= h;
        self.table = Some(t);
    }

    /// One table row; cells wrap within their column, and a row that does not fit moves to the
    /// next page (which repeats the header). Very long cells are cut to keep a row on one page.
    pub fn row(&mut self, cells: &[String]) -> io::Result<()> {
        const MAX_LINES: usize = 40;
        let Some(t) = self.table.as_ref() else { return Ok(()) };
        let size = t.size;
        let widths: Vec<f32> = t.columns.iter().map(|c| c.width).collect();
        let mut wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| self.doc.font.wrap(cell, size, w - 2.0 * CELL_PAD))
            .collect();
        for lines in &mut wrapped {
            if lines.len() > MAX_LINES {
                lines.truncate(MAX_LINES);
                lines.push("…".into());
            }
        }
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let h = n as f32 * leading(size) + 2.0 * CELL_PAD;
        self.ensure(h)?;
        let mut x = MARGIN;
        for (lines, w) in wrapped.iter().zip(&widths) {
            for (i, line) in lines.iter().enumerate() {
                let base = self.y - CELL_PAD - size - i as f32 * leading(size);
                self.doc.text(x + CELL_PAD, base, size, line);
            }
            x += w;
        }
        self.y -= h;
        self.doc.hline(MARGIN, PAGE_W - MARGIN, self.y, 0.3, 0.7);
        Ok(())
    }

    pub fn finish(self) -> io::Result<W> {
        self.doc.finish()
    }
}
