/*
 * teachlog.c - the teaching log as a PDF, see teachlog.h.
 *
 * One A4 portrait page after another: text is laid out by pango (so the
 * Chinese labels are shaped and the font subset is embedded with its
 * ToUnicode map, which is what lets pdftotext read them back) and drawn
 * on cairo's PDF surface, which writes into a growing buffer.  The
 * lessons are a table of tab stops; a line that would cross the bottom
 * margin starts a new page.  Every label is given in Chinese and in
 * English: the document is read by supervisors and by operators.
 */
#include "hoursd.h"
#include "queries.h"
#include "teachlog.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pango/pangocairo.h>

#define PAGE_W 595.0 /* A4 in points */
#define PAGE_H 842.0
#define MARGIN 48.0
#define FONT "WenQuanYi Micro Hei"

struct buf {
	unsigned char *p;
	size_t len, cap;
	bool failed;
};

struct page {
	cairo_surface_t *surface;
	cairo_t *cr;
	double y;
	unsigned no;
	const char *footer;
	const struct teachlog_photo *photos; /* the photos' bytes, by SHA-256 */
	size_t nphotos;
	bool signatures;	     /* the printed edition: lines to sign, the seal's space */
	double aside_w, aside_until; /* text keeps aside_w points right free above y aside_until */
};

static cairo_status_t on_write(void *arg, const unsigned char *data, unsigned int n)
{
	struct buf *b = arg;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = true;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return CAIRO_STATUS_SUCCESS;
}

/* A layout of text in font (e.g. "12"), the page's width, tab stops at tabs[] (points). */
static PangoLayout *layout(struct page *pg, const char *size, bool bold, const char *text,
			   const double *tabs, int ntabs)
{
	char desc[64];
	snprintf(desc, sizeof(desc), FONT "%s %s", bold ? " Bold" : "", size);
	PangoLayout *l = pango_cairo_create_layout(pg->cr);
	PangoFontDescription *fd = pango_font_description_from_string(desc);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
	/* Text wraps at the margin; a table's line (tab stops) stays one line. */
	double width = PAGE_W - 2 * MARGIN - (pg->y < pg->aside_until ? pg->aside_w : 0);
	pango_layout_set_width(l, ntabs > 0 ? -1 : (int)(width * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	if (ntabs > 0) {
		PangoTabArray *ta = pango_tab_array_new(ntabs, TRUE);
		for (int i = 0; i < ntabs; i++)
			pango_tab_array_set_tab(ta, i, PANGO_TAB_LEFT, (int)tabs[i]);
		pango_layout_set_tabs(l, ta);
		pango_tab_array_free(ta);
	}
	pango_layout_set_text(l, text, -1);
	return l;
}

static void footer(struct page *pg)
{
	char text[256];
	snprintf(text, sizeof(text), "%s    第 %u 页 page %u", pg->footer, pg->no, pg->no);
	PangoLayout *l = layout(pg, "7", false, text, NULL, 0);
	cairo_move_to(pg->cr, MARGIN, PAGE_H - MARGIN / 2 - 8);
	pango_cairo_show_layout(pg->cr, l);
	g_object_unref(l);
}

/* A new page when h more points would cross the bottom margin. */
static void room_for(struct page *pg, double h)
{
	if (pg->y + h > PAGE_H - MARGIN) {
		footer(pg);
		cairo_show_page(pg->cr);
		pg->no++;
		pg->y = MARGIN;
	}
}

/* Draw text at the current line; a new page first when it would cross the bottom margin. */
static void line(struct page *pg, const char *size, bool bold, const char *text, const double *tabs,
		 int ntabs, double gap)
{
	PangoLayout *l = layout(pg, size, bold, text, tabs, ntabs);
	int w, h;
	pango_layout_get_size(l, &w, &h);
	double height = (double)h / PANGO_SCALE;
	room_for(pg, height);
	cairo_move_to(pg->cr, MARGIN, pg->y);
	pango_cairo_show_layout(pg->cr, l);
	pg->y += height + gap;
	g_object_unref(l);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *col(const PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? "-" : PQgetvalue(r, i, c);
}

/* Columns of the lessons' table (points from the margin): No., login, last, coach, vehicle, min,
 * km. */
static const double cols[] = {0, 14, 96, 178, 262, 396, 438};

/*
 * The width and height of a baseline or progressive JPEG, from its frame
 * header (SOFn), or false when the bytes are not a JPEG this draws: the
 * photos come from terminals and are checked before cairo embeds them.
 */
static bool jpeg_size(const unsigned char *p, size_t n, int *w, int *h)
{
	if (n < 4 || p[0] != 0xFF || p[1] != 0xD8)
		return false;
	size_t i = 2;
	while (i + 4 <= n) {
		if (p[i] != 0xFF)
			return false;
		unsigned m = p[i + 1];
		if (m == 0xFF) { /* a fill byte */
			i++;
			continue;
		}
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) { /* markers without a length */
			i += 2;
			continue;
		}
		size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
		if (len < 2 || i + 2 + len > n || m == 0xDA || m == 0xD9)
			return false; /* the scan before a frame header, or cut short */
		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
			if (len < 8)
				return false;
			*h = p[i + 5] << 8 | p[i + 6];
			*w = p[i + 7] << 8 | p[i + 8];
			return *w > 0 && *h > 0 && *w <= TEACHLOG_PHOTO_MAX_SIDE &&
			       *h <= TEACHLOG_PHOTO_MAX_SIDE;
		}
		i += 2 + len;
	}
	return false;
}

static const struct teachlog_photo *photo_of(const struct page *pg, const char *sha256_hex)
{
	for (size_t i = 0; sha256_hex && i < pg->nphotos; i++)
		if (strcmp(pg->photos[i].sha256_hex, sha256_hex) == 0)
			return &pg->photos[i];
	return NULL;
}

/*
 * The photo drawn height points high at (x, y), its JPEG embedded as it is
 * (cairo writes the bytes as a DCTDecode image: nothing decoded here); the
 * width it took, 0 when the photo is not a JPEG (its SHA-256 is listed
 * anyway).
 */
static double draw_photo(struct page *pg, const struct teachlog_photo *ph, double x, double y,
			 double height)
{
	int w, h;
	if (ph == NULL || !jpeg_size(ph->data, ph->len, &w, &h))
		return 0;
	unsigned char *copy = malloc(ph->len);
	cairo_surface_t *img = copy ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h) : NULL;
	if (img == NULL || cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
		free(copy);
		if (img)
			cairo_surface_destroy(img);
		return 0;
	}
	memcpy(copy, ph->data, ph->len);
	if (cairo_surface_set_mime_data(img, CAIRO_MIME_TYPE_JPEG, copy, ph->len, free, copy) !=
	    CAIRO_STATUS_SUCCESS) {
		free(copy);
		cairo_surface_destroy(img);
		return 0;
	}
	double scale = height / h;
	cairo_save(pg->cr);
	cairo_translate(pg->cr, x, y);
	cairo_scale(pg->cr, scale, scale);
	cairo_set_source_surface(pg->cr, img, 0, 0);
	cairo_paint(pg->cr);
	cairo_restore(pg->cr);
	cairo_surface_destroy(img);
	return w * scale;
}

/* A lesson's photos as a row of prints (PHOTO_H high), wrapping at the margin. */
#define PHOTO_H 72.0
static void draw_lesson_photos(struct page *pg, json_t *photos)
{
	double x = MARGIN + cols[1];
	size_t k;
	json_t *sha;
	bool any = false;
	json_array_foreach(photos, k, sha)
	{
		const struct teachlog_photo *ph = photo_of(pg, json_string_value(sha));
		int w, h;
		if (ph == NULL || !jpeg_size(ph->data, ph->len, &w, &h))
			continue;
		double width = PHOTO_H * w / h;
		if (x + width > PAGE_W - MARGIN && x > MARGIN + cols[1]) {
			pg->y += PHOTO_H + 4;
			x = MARGIN + cols[1];
		}
		if (!any || x == MARGIN + cols[1])
			room_for(pg, PHOTO_H + 4);
		any = true;
		x += draw_photo(pg, ph, x, pg->y, PHOTO_H) + 6;
	}
	if (any)
		pg->y += PHOTO_H + 4;
}

/* A line to sign on, after its label. */
static void sign_line(struct page *pg, const char *label, double x, double width)
{
	PangoLayout *l = layout(pg, "8", false, label, NULL, 0);
	int lw, lh;
	pango_layout_set_width(l, -1);
	pango_layout_get_size(l, &lw, &lh);
	cairo_move_to(pg->cr, x, pg->y);
	pango_cairo_show_layout(pg->cr, l);
	double base = pg->y + (double)lh / PANGO_SCALE;
	cairo_move_to(pg->cr, x + (double)lw / PANGO_SCALE + 4, base);
	cairo_line_to(pg->cr, x + width, base);
	cairo_set_line_width(pg->cr, 0.6);
	cairo_stroke(pg->cr);
	g_object_unref(l);
}

/* The student's photo at the head's right: the first photo of the first lesson that has one. */
static void draw_student_photo(struct page *pg, json_t *d)
{
	size_t i, k;
	json_t *l, *sha;
	json_array_foreach(json_object_get(d, "lessons"), i, l)
	{
		json_array_foreach(json_object_get(l, "photos"), k, sha)
		{
			const struct teachlog_photo *ph = photo_of(pg, json_string_value(sha));
			int w, h;
			if (ph == NULL || !jpeg_size(ph->data, ph->len, &w, &h))
				continue;
			double height = 96, width = height * w / h;
			if (width > 96) {
				width = 96;
				height = width * h / w;
			}
			draw_photo(pg, ph, PAGE_W - MARGIN - width, MARGIN, height);
			pg->aside_w = width + 12;
			pg->aside_until = MARGIN + height + 12;
			PangoLayout *cap = layout(pg, "6", false, "学员照片 student", NULL, 0);
			pango_layout_set_width(cap, -1);
			cairo_move_to(pg->cr, PAGE_W - MARGIN - width, MARGIN + height + 2);
			pango_cairo_show_layout(pg->cr, cap);
			g_object_unref(cap);
			return;
		}
	}
}

/* The end of the printed edition: the school's seal and the date. */
static void draw_seal(struct page *pg)
{
	room_for(pg, 150);
	pg->y += 16;
	line(pg, "12", true, "确认 Confirmation", NULL, 0, 8);
	sign_line(pg, "学员签字 student", MARGIN, 230);
	sign_line(pg, "日期 date", MARGIN + 260, 180);
	pg->y += 24;
	sign_line(pg, "教练员签字 coach", MARGIN, 230);
	sign_line(pg, "日期 date", MARGIN + 260, 180);
	pg->y += 24;
	double x = MARGIN + 260, size = 110;
	line(pg, "8", false, "驾校盖章 school seal", NULL, 0, 4);
	double dash[] = {3, 3};
	cairo_set_dash(pg->cr, dash, 2, 0);
	cairo_rectangle(pg->cr, x, pg->y - 14, size, size);
	cairo_set_line_width(pg->cr, 0.6);
	cairo_stroke(pg->cr);
	cairo_set_dash(pg->cr, NULL, 0, 0);
	pg->y += size;
}

static void draw_head(struct page *pg, json_t *d)
{
	char t[1024];
	draw_student_photo(pg, d);
	json_t *tot = json_object_get(d, "totals");
	line(pg, "18", true, "电子教学日志  Teaching log", NULL, 0, 10);
	snprintf(t, sizeof(t), "驾校 School: %s  %s", str(d, "school_code"), str(d, "school_name"));
	line(pg, "10", false, t, NULL, 0, 3);
	snprintf(t, sizeof(t),
		 "学员 Student: %s    车型 Class: %s    培训部分 Part: %lld    科目 Subject: %lld",
		 str(d, "student_no"), str(d, "vehicle_class"), num(d, "part"), num(d, "subject"));
	line(pg, "10", false, t, NULL, 0, 10);
	line(pg, "12", true, "学时合计 Totals (minutes counted)", NULL, 0, 4);
	snprintf(
		t, sizeof(t),
		"实车 vehicle %lld    模拟 simulator %lld    课堂 classroom %lld    远程 remote %lld",
		num(tot, "vehicle"), num(tot, "simulator"), num(tot, "classroom"),
		num(tot, "remote"));
	line(pg, "10", false, t, NULL, 0, 3);
	json_t *req = json_object_get(tot, "required");
	char required[32] = "-";
	if (json_is_integer(req))
		snprintf(required, sizeof(required), "%lld", (long long)json_integer_value(req));
	/* Short lines: a wrap must not split a label from its figure (pdftotext reads them). */
	snprintf(t, sizeof(t), "总学时 total %lld min    要求 required %s min", num(tot, "total"),
		 required);
	line(pg, "10", false, t, NULL, 0, 3);
	snprintf(t, sizeof(t), "里程 mileage %s km    学时记录 records %lld",
		 str(tot, "mileage_km"), num(tot, "records"));
	line(pg, "10", false, t, NULL, 0, 12);
}

/* One row of the table: each cell laid out apart at its column, so that none pushes another. */
static void row(struct page *pg, bool bold, const char *const cells[], size_t n)
{
	PangoLayout *l[ARRAY_SIZE(cols)];
	double height = 0;
	for (size_t i = 0; i < n && i < ARRAY_SIZE(cols); i++) {
		int w, h;
		l[i] = layout(pg, "7", bold, cells[i], NULL, 0);
		pango_layout_set_width(l[i], -1);
		pango_layout_get_size(l[i], &w, &h);
		if ((double)h / PANGO_SCALE > height)
			height = (double)h / PANGO_SCALE;
	}
	room_for(pg, height);
	for (size_t i = 0; i < n && i < ARRAY_SIZE(cols); i++) {
		cairo_move_to(pg->cr, MARGIN + cols[i], pg->y);
		pango_cairo_show_layout(pg->cr, l[i]);
		g_object_unref(l[i]);
	}
	pg->y += height + 1;
}

static void draw_lessons(struct page *pg, json_t *lessons)
{
	static const char *const head[] = {"#",
					   "签到 login",
					   "最后一分钟 last",
					   "教练 coach",
					   "车辆 vehicle (plate / terminal)",
					   "分钟 min",
					   "里程 km"};
	char no[24], veh[200], min[24], t[200];
	size_t i;
	json_t *l;
	line(pg, "12", true, "教学记录 Lessons (times UTC+8)", NULL, 0, 4);
	row(pg, true, head, ARRAY_SIZE(head));
	pg->y += 2;
	json_array_foreach(lessons, i, l)
	{
		const char *plate = json_string_value(json_object_get(l, "plate"));
		snprintf(no, sizeof(no), "%zu", i + 1);
		snprintf(veh, sizeof(veh), "%s%s%s", plate ? plate : "", plate ? " / " : "",
			 str(l, "terminal"));
		snprintf(min, sizeof(min), "%lld", num(l, "minutes"));
		const char *const cells[] = {
			no,  str(l, "login"),	  str(l, "last"), str(l, "coach_no"), veh,
			min, str(l, "mileage_km")};
		row(pg, false, cells, ARRAY_SIZE(cells));
		size_t k;
		json_t *ph;
		json_array_foreach(json_object_get(l, "photos"), k, ph)
		{
			snprintf(t, sizeof(t), "照片 photo SHA-256 %s", json_string_value(ph));
			const char *const cell[] = {"", t};
			row(pg, false, cell, 2);
		}
		draw_lesson_photos(pg, json_object_get(l, "photos"));
		if (pg->signatures) {
			room_for(pg, 18);
			pg->y += 4;
			sign_line(pg, "学员签字 student", MARGIN + cols[1], 200);
			sign_line(pg, "教练员签字 coach", MARGIN + cols[1] + 220, 200);
			pg->y += 14;
		}
		pg->y += 3;
	}
	if (json_array_size(lessons) == 0)
		line(pg, "9", false, "无 none", NULL, 0, 4);
	pg->y += 8;
}

static void draw_forms(struct page *pg, const PGresult *forms)
{
	char t[1200];
	int n = forms ? PQntuples(forms) : 0;
	line(pg, "12", true, "补录学时 Back-filled hours (三方确认培训学时补录单)", NULL, 0, 4);
	for (int i = 0; i < n; i++) {
		snprintf(t, sizeof(t),
			 "补录单 form %s: 实车 vehicle %s, 课堂 classroom %s, 模拟 simulator %s, "
			 "远程 remote %s min; 里程 mileage %s km; 教练 coach %s\n"
			 "确认 confirmed: %s\n审核 approved: %s\n扫描件 scan SHA-256 %s",
			 col(forms, i, TEACHING_LOG_BACKFILL_FORM_NO),
			 col(forms, i, TEACHING_LOG_BACKFILL_VEHICLE),
			 col(forms, i, TEACHING_LOG_BACKFILL_CLASSROOM),
			 col(forms, i, TEACHING_LOG_BACKFILL_SIMULATOR),
			 col(forms, i, TEACHING_LOG_BACKFILL_REMOTE),
			 col(forms, i, TEACHING_LOG_BACKFILL_KM),
			 col(forms, i, TEACHING_LOG_BACKFILL_COACH_NO),
			 col(forms, i, TEACHING_LOG_BACKFILL_CONFIRMED),
			 col(forms, i, TEACHING_LOG_BACKFILL_APPROVED),
			 col(forms, i, TEACHING_LOG_BACKFILL_SCAN_SHA256));
		line(pg, "8", false, t, NULL, 0, 5);
	}
	if (n == 0)
		line(pg, "9", false, "无 none", NULL, 0, 4);
}

static unsigned char *render(const char *doc, const PGresult *forms,
			     const struct teachlog_photo *photos, size_t nphotos, bool print,
			     size_t *len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *d = json_loads(doc, 0, &je);
	if (!json_is_object(d) || !json_is_object(json_object_get(d, "totals")) ||
	    !json_is_array(json_object_get(d, "lessons"))) {
		snprintf(err, errlen, "teaching log: not a teaching-log document");
		json_decref(d);
		return NULL;
	}
	struct buf b = {0};
	char foot[200];
	snprintf(foot, sizeof(foot), "hoursd %s · 生成 generated %s (UTC+8) · %s 第%lld部分",
		 HOURSD_VERSION, str(d, "generated_at"), str(d, "student_no"), num(d, "part"));
	struct page pg = {.y = MARGIN,
			  .no = 1,
			  .footer = foot,
			  .photos = photos,
			  .nphotos = nphotos,
			  .signatures = print};
	pg.surface = cairo_pdf_surface_create_for_stream(on_write, &b, PAGE_W, PAGE_H);
	cairo_pdf_surface_set_metadata(pg.surface, CAIRO_PDF_METADATA_TITLE, "电子教学日志");
	cairo_pdf_surface_set_metadata(pg.surface, CAIRO_PDF_METADATA_CREATOR,
				       "hoursd " HOURSD_VERSION);
	pg.cr = cairo_create(pg.surface);
	cairo_set_source_rgb(pg.cr, 0, 0, 0);
	draw_head(&pg, d);
	draw_lessons(&pg, json_object_get(d, "lessons"));
	draw_forms(&pg, forms);
	if (pg.signatures)
		draw_seal(&pg);
	footer(&pg);
	cairo_show_page(pg.cr);
	cairo_destroy(pg.cr);
	cairo_surface_finish(pg.surface);
	cairo_status_t st = cairo_surface_status(pg.surface);
	cairo_surface_destroy(pg.surface);
	json_decref(d);
	if (st != CAIRO_STATUS_SUCCESS || b.failed || b.len == 0) {
		snprintf(err, errlen, "teaching log: cairo: %s",
			 b.failed ? "out of memory" : cairo_status_to_string(st));
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

unsigned char *teachlog_pdf(const char *doc, const PGresult *forms, size_t *len, char *err,
			    size_t errlen)
{
	return render(doc, forms, NULL, 0, false, len, err, errlen);
}

unsigned char *teachlog_pdf_print(const char *doc, const PGresult *forms,
				  const struct teachlog_photo *photos, size_t nphotos, size_t *len,
				  char *err, size_t errlen)
{
	return render(doc, forms, photos, nphotos, true, len, err, errlen);
}

void teachlog_shutdown(void)
{
	pango_cairo_font_map_set_default(NULL);
	cairo_debug_reset_static_data();
	FcFini();
}
