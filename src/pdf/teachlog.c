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
	pango_layout_set_width(l, ntabs > 0 ? -1 : (int)((PAGE_W - 2 * MARGIN) * PANGO_SCALE));
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

/* Draw text at the current line; a new page first when it would cross the bottom margin. */
static void line(struct page *pg, const char *size, bool bold, const char *text, const double *tabs,
		 int ntabs, double gap)
{
	PangoLayout *l = layout(pg, size, bold, text, tabs, ntabs);
	int w, h;
	pango_layout_get_size(l, &w, &h);
	double height = (double)h / PANGO_SCALE;
	if (pg->y + height > PAGE_H - MARGIN) {
		footer(pg);
		cairo_show_page(pg->cr);
		pg->no++;
		pg->y = MARGIN;
	}
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

static void draw_head(struct page *pg, json_t *d)
{
	char t[1024];
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

/* Columns of the lessons' table (points from the margin): No., login, last, coach, vehicle, min,
 * km. */
static const double cols[] = {0, 14, 96, 178, 262, 396, 438};

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
	if (pg->y + height > PAGE_H - MARGIN) {
		footer(pg);
		cairo_show_page(pg->cr);
		pg->no++;
		pg->y = MARGIN;
	}
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

unsigned char *teachlog_pdf(const char *doc, const PGresult *forms, size_t *len, char *err,
			    size_t errlen)
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
	struct page pg = {.y = MARGIN, .no = 1, .footer = foot};
	pg.surface = cairo_pdf_surface_create_for_stream(on_write, &b, PAGE_W, PAGE_H);
	cairo_pdf_surface_set_metadata(pg.surface, CAIRO_PDF_METADATA_TITLE, "电子教学日志");
	cairo_pdf_surface_set_metadata(pg.surface, CAIRO_PDF_METADATA_CREATOR,
				       "hoursd " HOURSD_VERSION);
	pg.cr = cairo_create(pg.surface);
	cairo_set_source_rgb(pg.cr, 0, 0, 0);
	draw_head(&pg, d);
	draw_lessons(&pg, json_object_get(d, "lessons"));
	draw_forms(&pg, forms);
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

void teachlog_shutdown(void)
{
	pango_cairo_font_map_set_default(NULL);
	cairo_debug_reset_static_data();
	FcFini();
}
