/*
 * quality.c - the published pages of the schools' training quality (the
 * notice, 二(三): 两部门联合向社会公布驾驶培训机构培训质量), written by
 * hoursctl report quarterly from the report's document (report.c):
 *
 *   quality-2026Q3.html        the index: the figures explained, the schools
 *                              ranked, a chart per figure
 *   quality-2026Q3-CODE.html   a school's own page: this quarter and the
 *                              four before, its coaches, vehicles and grounds
 *                              counted, its findings in plain words
 *
 * Written for the people who read them: residents choosing a school, most
 * on a phone.  Chinese first (lang="zh-CN"), English as a second line;
 * numbers as Chinese readers write them (12,345; 87.5%; 2026年第三季度);
 * a layout that reads at 360 pixels (the tables become one card a row)
 * as well as on a desktop; no script, no font, nothing from outside, so
 * the files can be published as they are.  Tables bind their headers
 * (scope, headers), every chart has its text equivalent, and every colour
 * passes WCAG AA against its background.  Nobody is named: coaches and
 * students are counted.  docs/audit.md, "Quarterly report".
 */
#include "hoursd.h"
#include "quality.h"
#include "common/html.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>

/* A published figure: its key in a school of the document, its names and its one line. */
struct figure {
	const char *key, *zh, *en, *unit, *explain;
	int decimals;
	double top; /* a chart's scale: 0 the largest value */
	const char *colour;
};

/* Colours: at least 4.5:1 on white (text) and 3:1 on the bar's grey track. */
static const struct figure figures[] = {
	{"exam_pass_rate", "考试合格率", "Exam pass rate", "%",
	 "学员在本季度参加驾驶人考试的合格比例，数据来自公安交管部门。", 1, 100, "#1b5e20"},
	{"realtime_percent", "学时上传及时率", "Records uploaded in real time", "%",
	 "计时终端每分钟的培训记录中，当场实时上传（而不是事后补传）的比例，越高越可信。", 1, 100,
	 "#0d47a1"},
	{"students_trained", "受训学员", "Students trained", "人",
	 "本季度至少有一分钟有效培训学时的学员人数。", 0, 0, "#37474f"},
	{"minutes_counted", "有效学时", "Minutes counted", "分钟",
	 "经核验计入学员学时的培训分钟数（每分钟一条经签名核验的记录）。", 0, 0, "#4e342e"},
	{"findings", "监管发现", "Findings", "条",
	 "从培训数据中发现的违规线索条数，如学时减少、场外培训、终端长期不用等。", 0, 0, "#b71c1c"},
	{"off_site_minutes", "场外培训", "Off-site minutes", "分钟",
	 "在批准的训练场之外培训、因而不予计入的分钟数。", 0, 0, "#bf360c"},
	{"violation_rate", "交通违法率", "Violations per 100 new drivers", "次/百人",
	 "本校毕业、驾龄三年内的驾驶人每百人的交通违法次数，数据来自公安交管部门。", 1, 0,
	 "#4a148c"},
	{"accident_rate", "交通事故率", "Accidents per 100 new drivers", "次/百人",
	 "本校毕业、驾龄三年内的驾驶人每百人的交通事故次数，数据来自公安交管部门。", 1, 0,
	 "#880e4f"},
};

/* The kinds of finding in plain words (docs/audit.md, "Findings"). */
static const char *const finding_words[][3] = {
	{"minutes_missing", "学时减少", "一次培训的记录少于登录到登出之间的分钟数"},
	{"content_reduced", "培训内容减少", "学时已满，但大纲要求的科目没有培训记录"},
	{"tampered_terminal", "终端数据异常", "签名不符、时间或速度不合理等可能被篡改的记录"},
	{"off_site", "场外培训", "在批准的训练场之外培训"},
	{"coach_two_places", "教练员同时在两地", "同一教练员同一分钟出现在两台终端上"},
	{"coach_overloaded", "教练员超负荷", "一名教练员一天所带学员或培训时间超过合理范围"},
	{"face_mismatch", "人脸比对不符", "培训照片与学员本人比对的相似度过低"},
	{"vehicle_without_terminal", "教练车未装终端",
	 "登记的教练车没有在用的计时终端（应装尽装）"},
	{"terminal_silent", "终端长期未用", "在用的计时终端多日没有上传数据（能用尽用）"},
	{"realtime_share", "补传比例过高", "实时上传的记录比例低于要求"},
};

static const char *const quarter_zh[] = {"一", "二", "三", "四"};

/* ---- text ---- */

/* 2026Q3 as 2026年第三季度 (zh) and 2026 Q3 (en); false when it is not one. */
static bool quarter_words(const char *q, char *zh, size_t zl, char *en, size_t el)
{
	int y, n;
	if (q == NULL || sscanf(q, "%4dQ%1d", &y, &n) != 2 || n < 1 || n > 4)
		return false;
	snprintf(zh, zl, "%d年第%s季度", y, quarter_zh[n - 1]);
	snprintf(en, el, "%d Q%d", y, n);
	return true;
}

/* An integer with a comma every three digits: 12,345. */
static void grouped(char *buf, size_t len, long long v)
{
	char digits[32];
	snprintf(digits, sizeof(digits), "%lld", v < 0 ? -v : v);
	size_t n = strlen(digits), o = 0;
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

/* A figure's value, or false when there is none (no police figures yet, no records). */
static bool value_of(const json_t *s, const struct figure *fg, double *v)
{
	const json_t *j = json_object_get(s, fg->key);
	if (json_is_array(j))
		*v = (double)json_array_size(j);
	else if (json_is_number(j))
		*v = json_number_value(j);
	else
		return false;
	return true;
}

/* The value as it is printed: 12,345 / 87.5% / 2.1; "暂无" when none. */
static const char *shown(const json_t *s, const struct figure *fg, char *buf, size_t len)
{
	double v;
	if (!value_of(s, fg, &v)) {
		snprintf(buf, len, "暂无");
		return buf;
	}
	if (fg->decimals == 0) {
		grouped(buf, len, (long long)v);
		if (strcmp(fg->unit, "%") == 0)
			strncat(buf, "%", len - strlen(buf) - 1);
	} else {
		snprintf(buf, len, "%.*f%s", fg->decimals, v,
			 strcmp(fg->unit, "%") == 0 ? "%" : "");
	}
	return buf;
}

/* A school code as it may stand in a file name: letters, digits, '-' and '_' only. */
static bool code_ok(const char *code)
{
	return code && code[0] && strlen(code) <= 32 &&
	       strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		       strlen(code);
}

/* ---- the page's frame ---- */

static const char style[] =
	"*{box-sizing:border-box}\n"
	"body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"PingFang SC\","
	"\"Microsoft YaHei\",\"WenQuanYi Micro Hei\",sans-serif;margin:0 auto;padding:16px;max-width:1200px;"
	"color:#1a1a1a;background:#fff;line-height:1.6;font-size:16px}\n"
	"h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.2em;margin:28px 0 8px;"
	"border-bottom:2px solid #0d47a1}\n"
	".en{color:#444;font-size:.85em;margin:0}\n"
	"a{color:#0b4fa8}\n"
	"dl.explain{margin:0}dl.explain dt{font-weight:bold;margin-top:8px}"
	"dl.explain dd{margin:0 0 0 1em}\n"
	"table{border-collapse:collapse;margin:12px 0;width:100%}\n"
	"caption{text-align:left;font-weight:bold;padding:4px 0}\n"
	"th,td{border:1px solid #8a8a8a;padding:6px 8px;text-align:right;vertical-align:top}\n"
	"thead th{background:#e3ecf7;font-size:.9em}\n"
	"th[scope=row],td.name{text-align:left}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));"
	"gap:16px 32px;margin:12px 0}\n"
	"figure{margin:0}figcaption{font-weight:bold}\n"
	"svg{width:100%;height:auto;max-width:480px;display:block}\n"
	".note{color:#444;font-size:.9em}\n"
	"@media (max-width:640px){\n"
	" body{padding:12px;font-size:15px}\n"
	" table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;"
	"clip:rect(0 0 0 0)}\n"
	" table.cards,table.cards tbody,table.cards tr,table.cards th,table.cards td{"
	"display:block;width:auto}\n"
	" table.cards caption{display:block;width:auto}\n"
	" table.cards tr{border:1px solid #8a8a8a;margin:0 0 12px;padding:4px 8px}\n"
	" table.cards th,table.cards td{border:none;padding:2px 0;display:flex;"
	"justify-content:space-between;gap:8px;text-align:right}\n"
	" table.cards th[scope=row]{font-size:1.05em;border-bottom:1px solid #ccc}\n"
	" table.cards td::before{content:attr(data-label);text-align:left;color:#444}\n"
	" table.cards td.name{display:block;text-align:left;color:#333}\n"
	" table.cards td.name::before{content:none}\n"
	"}\n";

static void page_head(FILE *f, const char *title_zh, const char *title_en)
{
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		   "<title>");
	html_text(f, title_zh);
	fputs(" | ", f);
	html_text(f, title_en);
	fprintf(f, "</title>\n<style>\n%s</style></head><body>\n<header><h1>", style);
	html_text(f, title_zh);
	fputs("</h1>\n<p class=\"en\" lang=\"en\">", f);
	html_text(f, title_en);
	fputs("</p></header>\n<main>\n", f);
}

static void page_foot(FILE *f)
{
	fputs("</main>\n<footer><p class=\"note\">交通运输主管部门与公安交管部门联合公布。"
	      "培训数据来自驾培机构教练车上的计时终端，每分钟一条经数字签名核验的记录；"
	      "考试合格率、交通违法率和事故率来自公安交管部门。"
	      "<span lang=\"en\">Published jointly by the transport authority and the "
	      "police.</span></p></footer>\n</body></html>\n",
	      f);
}

/* An <h2> in Chinese with its English second line. */
static void heading(FILE *f, const char *id, const char *zh, const char *en)
{
	fprintf(f, "<h2 id=\"%s\">%s <span class=\"en\" lang=\"en\">%s</span></h2>\n", id, zh, en);
}

/* ---- the index ---- */

/* The schools in the published order: by pass rate (those without one last), then code. */
static int rank_cmp(const void *pa, const void *pb)
{
	const json_t *a = *(const json_t *const *)pa, *b = *(const json_t *const *)pb;
	double va, vb;
	bool ha = value_of(a, &figures[0], &va), hb = value_of(b, &figures[0], &vb);
	if (ha != hb)
		return ha ? -1 : 1;
	if (ha && va != vb)
		return va > vb ? -1 : 1;
	return strcmp(json_string_value(json_object_get(a, "code")),
		      json_string_value(json_object_get(b, "code")));
}

static void explain_figures(FILE *f)
{
	heading(f, "figures", "这些数字是什么", "What the figures mean");
	fputs("<dl class=\"explain\">\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(figures); i++) {
		fprintf(f, "<dt>%s <span class=\"en\" lang=\"en\">%s</span></dt><dd>%s</dd>\n",
			figures[i].zh, figures[i].en, figures[i].explain);
	}
	fputs("</dl>\n", f);
}

/*
 * One bar chart of a figure, inline SVG that scales with its column: a row
 * per school (its name over its bar and value); its text equivalent in
 * <desc>, and the same numbers in the table below.
 */
static void chart(FILE *f, json_t **order, size_t n, const struct figure *fg, int idx)
{
	double max = fg->top, v;
	char b[48];
	for (size_t i = 0; i < n; i++)
		if (fg->top == 0 && value_of(order[i], fg, &v) && v > max)
			max = v;
	if (max <= 0)
		max = 1;
	fprintf(f,
		"<figure><figcaption id=\"c%d\">%s <span class=\"en\" lang=\"en\">%s</span>"
		"</figcaption>\n<svg viewBox=\"0 0 320 %zu\" role=\"img\" "
		"aria-labelledby=\"c%d c%d-d\"><desc id=\"c%d-d\">",
		idx, fg->zh, fg->en, 44 * n + 4, idx, idx, idx);
	for (size_t i = 0; i < n; i++) {
		html_text(f, json_string_value(json_object_get(order[i], "name")));
		fprintf(f, "：%s%s", shown(order[i], fg, b, sizeof(b)), i + 1 < n ? "；" : "。");
	}
	fputs("</desc>\n", f);
	for (size_t i = 0; i < n; i++) {
		bool has = value_of(order[i], fg, &v);
		double w = has ? 240.0 * v / max : 0;
		w = w < 0 ? 0 : w > 240 ? 240 : w;
		size_t y = 44 * i;
		fprintf(f, "<text x=\"0\" y=\"%zu\" font-size=\"14\" fill=\"#1a1a1a\">", y + 15);
		html_text(f, json_string_value(json_object_get(order[i], "name")));
		fprintf(f,
			"</text>\n<rect x=\"0\" y=\"%zu\" width=\"240\" height=\"18\" "
			"fill=\"#f0f0f0\"/><rect x=\"0\" y=\"%zu\" width=\"%.1f\" height=\"18\" "
			"fill=\"%s\"/><text x=\"246\" y=\"%zu\" font-size=\"14\" "
			"fill=\"#1a1a1a\">%s</text>\n",
			y + 21, y + 21, w, fg->colour, y + 35, shown(order[i], fg, b, sizeof(b)));
	}
	fputs("</svg></figure>\n", f);
}

/* The ranking table: a row per school, its name linking to its page. */
static void ranking(FILE *f, json_t **order, size_t n, const char *quarter, const char *qzh)
{
	fprintf(f,
		"<table class=\"cards\">\n<caption>%s各驾培机构培训质量（按考试合格率排序，"
		"尚无合格率的排在最后）</caption>\n<thead><tr>"
		"<th scope=\"col\" id=\"h-rank\">排名</th>"
		"<th scope=\"col\" id=\"h-school\">驾培机构 <span lang=\"en\">School</span></th>",
		qzh);
	for (size_t c = 0; c < ARRAY_SIZE(figures); c++)
		fprintf(f, "<th scope=\"col\" id=\"h-%s\">%s（%s）</th>", figures[c].key,
			figures[c].zh, figures[c].unit);
	fputs("</tr></thead>\n<tbody>\n", f);
	size_t rank = 0;
	for (size_t i = 0; i < n; i++) {
		const char *code = json_string_value(json_object_get(order[i], "code"));
		double v;
		char b[48];
		bool ranked = value_of(order[i], &figures[0], &v);
		if (ranked)
			rank++;
		fprintf(f, "<tr><td headers=\"h-rank\" data-label=\"排名\">");
		if (ranked)
			fprintf(f, "%zu", rank);
		else
			fputs("—", f);
		fprintf(f, "</td><th scope=\"row\" id=\"r%zu\" headers=\"h-school\">", i);
		if (code_ok(code)) {
			fprintf(f, "<a href=\"quality-%s-%s.html\">", quarter, code);
			html_text(f, json_string_value(json_object_get(order[i], "name")));
			fputs("</a>", f);
		} else {
			html_text(f, json_string_value(json_object_get(order[i], "name")));
		}
		fputs("</th>", f);
		for (size_t c = 0; c < ARRAY_SIZE(figures); c++) {
			fprintf(f, "<td headers=\"h-%s r%zu\" data-label=\"%s\">%s</td>",
				figures[c].key, i, figures[c].zh,
				shown(order[i], &figures[c], b, sizeof(b)));
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void write_index(FILE *f, json_t **order, size_t n, const char *quarter)
{
	char qzh[64], qen[32], tzh[160], ten[160];
	quarter_words(quarter, qzh, sizeof(qzh), qen, sizeof(qen));
	snprintf(tzh, sizeof(tzh), "驾驶培训机构培训质量 %s", qzh);
	snprintf(ten, sizeof(ten), "Training quality of driving schools, %s", qen);
	page_head(f, tzh, ten);
	fprintf(f,
		"<p>本页公布本市%zu家驾驶培训机构%s的培训质量，供学员选择驾校时参考。"
		"点击驾校名称查看该校近五个季度的数据和监管发现。</p>\n",
		n, qzh);
	heading(f, "ranking", "各驾校对比", "Schools compared");
	ranking(f, order, n, quarter, qzh);
	heading(f, "charts", "图表", "Charts");
	fputs("<div class=\"charts\">\n", f);
	int idx = 0;
	for (size_t c = 0; c < ARRAY_SIZE(figures); c++) {
		if (strcmp(figures[c].key, "minutes_counted") == 0 ||
		    strcmp(figures[c].key, "off_site_minutes") == 0)
			continue; /* in the table; a chart of each would say little more */
		chart(f, order, n, &figures[c], ++idx);
	}
	fputs("</div>\n", f);
	explain_figures(f);
	page_foot(f);
}

/* ---- a school's page ---- */

/* This quarter's figures, a row each with its explanation. */
static void school_now(FILE *f, const json_t *s)
{
	fputs("<table class=\"cards\">\n<thead><tr><th scope=\"col\" id=\"n-fig\">指标</th>"
	      "<th scope=\"col\" id=\"n-val\">本季度</th><th scope=\"col\" id=\"n-what\">"
	      "说明</th></tr></thead>\n<tbody>\n",
	      f);
	for (size_t c = 0; c < ARRAY_SIZE(figures); c++) {
		char b[48];
		fprintf(f,
			"<tr><th scope=\"row\" id=\"n%zu\" headers=\"n-fig\">%s <span "
			"class=\"en\" lang=\"en\">%s</span></th><td headers=\"n-val n%zu\" "
			"data-label=\"本季度\">%s%s%s</td><td headers=\"n-what n%zu\" "
			"data-label=\"说明\" class=\"name\">%s</td></tr>\n",
			c, figures[c].zh, figures[c].en, c, shown(s, &figures[c], b, sizeof(b)),
			strcmp(figures[c].unit, "%") && strcmp(b, "暂无") ? " " : "",
			strcmp(figures[c].unit, "%") && strcmp(b, "暂无") ? figures[c].unit : "", c,
			figures[c].explain);
	}
	fputs("</tbody></table>\n", f);
}

/* The quarter and the four before it (report.c's "history", oldest first). */
static void school_trend(FILE *f, const json_t *s, const char *quarter)
{
	static const char *const keys[] = {"students_trained", "minutes_counted",
					   "realtime_percent", "exam_pass_rate",
					   "violation_rate",   "accident_rate"};
	const struct figure *cols[ARRAY_SIZE(keys)];
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
		for (size_t c = 0; c < ARRAY_SIZE(figures); c++)
			if (strcmp(figures[c].key, keys[k]) == 0)
				cols[k] = &figures[c];
	fputs("<table class=\"cards\">\n<caption>近五个季度</caption>\n<thead><tr>"
	      "<th scope=\"col\" id=\"t-q\">季度</th>",
	      f);
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
		fprintf(f, "<th scope=\"col\" id=\"t-%s\">%s（%s）</th>", keys[k], cols[k]->zh,
			cols[k]->unit);
	fputs("</tr></thead>\n<tbody>\n", f);
	const json_t *hist = json_object_get(s, "history");
	size_t n = json_array_size(hist);
	for (size_t i = 0; i <= n; i++) {
		const json_t *row = i < n ? json_array_get(hist, i) : s;
		const char *q =
			i < n ? json_string_value(json_object_get(row, "quarter")) : quarter;
		char qzh[64], qen[32], b[48];
		if (!quarter_words(q, qzh, sizeof(qzh), qen, sizeof(qen)))
			continue;
		fprintf(f, "<tr><th scope=\"row\" id=\"t%zu\" headers=\"t-q\">%s%s</th>", i, qzh,
			i == n ? "（本季度）" : "");
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			fprintf(f, "<td headers=\"t-%s t%zu\" data-label=\"%s\">%s</td>", keys[k],
				i, cols[k]->zh, shown(row, cols[k], b, sizeof(b)));
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

/* A count of the school by the report's key (coaches_active, ...); -1 when it has none. */
static long long count_of(const json_t *s, const char *key)
{
	const json_t *v = json_object_get(s, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/*
 * Coaches, vehicles and grounds counted, by their state in the quarter
 * where the registry gives it (report.c's coaches_active, ...), else the
 * report's lists counted; nobody named.
 */
static void school_means(FILE *f, const json_t *s)
{
	long long active = count_of(s, "coaches_active"), joined = count_of(s, "coaches_joined"),
		  left = count_of(s, "coaches_left"),
		  unregistered = count_of(s, "coaches_not_registered"),
		  with = count_of(s, "vehicles_with_terminal"),
		  silent = count_of(s, "vehicles_silent"),
		  without = count_of(s, "vehicles_without_terminal");
	size_t grounds = json_array_size(json_object_get(s, "training_grounds"));
	fputs("<ul>\n", f);
	if (active >= 0) {
		fprintf(f, "<li>教练员：在职 %lld 名（本季度新入职 %lld 名，离职 %lld 名）</li>\n",
			active, joined < 0 ? 0 : joined, left < 0 ? 0 : left);
		if (unregistered > 0)
			fprintf(f, "<li>培训记录中出现、但未在主管部门登记的教练员：%lld 名</li>\n",
				unregistered);
	} else {
		fprintf(f, "<li>教练员：%zu 名</li>\n",
			json_array_size(json_object_get(s, "coaches")));
	}
	if (with >= 0) {
		fprintf(f,
			"<li>教练车：%lld 辆（装有计时终端并在用 %lld 辆，终端长期未上传 %lld 辆，"
			"未装终端 %lld 辆）</li>\n",
			with + (silent < 0 ? 0 : silent) + (without < 0 ? 0 : without), with,
			silent < 0 ? 0 : silent, without < 0 ? 0 : without);
	} else {
		fprintf(f, "<li>教练车：%zu 辆</li>\n",
			json_array_size(json_object_get(s, "vehicles")));
	}
	fprintf(f, "<li>训练场：%zu 处</li>\n</ul>\n", grounds);
	fputs("<p class=\"note\">按照“应装尽装、能用尽用”的要求，每辆教练车都应装有在用的计时终端。"
	      "</p>\n",
	      f);
}

/* The findings by kind, in plain words: how many, never whom. */
static void school_findings(FILE *f, const json_t *s)
{
	const json_t *all = json_object_get(s, "findings");
	size_t counts[ARRAY_SIZE(finding_words)] = {0}, other = 0, i;
	json_t *o;
	json_array_foreach(all, i, o)
	{
		const char *k = json_string_value(json_object_get(o, "finding"));
		size_t w = 0;
		while (w < ARRAY_SIZE(finding_words) && (!k || strcmp(k, finding_words[w][0])))
			w++;
		if (w < ARRAY_SIZE(finding_words))
			counts[w]++;
		else
			other++;
	}
	if (json_array_size(all) == 0) {
		fputs("<p>本季度没有监管发现。<span class=\"en\" lang=\"en\">No findings this "
		      "quarter.</span></p>\n",
		      f);
		return;
	}
	fputs("<ul>\n", f);
	for (size_t w = 0; w < ARRAY_SIZE(finding_words); w++)
		if (counts[w])
			fprintf(f, "<li><strong>%s</strong> %zu 条：%s。</li>\n",
				finding_words[w][1], counts[w], finding_words[w][2]);
	if (other)
		fprintf(f, "<li><strong>其他</strong> %zu 条。</li>\n", other);
	fputs("</ul>\n<p class=\"note\">监管发现是需要核查的线索，不等于处罚结论；"
	      "处理结果以主管部门公布的为准。</p>\n",
	      f);
}

static void write_school(FILE *f, const json_t *s, const char *quarter)
{
	char qzh[64], qen[32], tzh[300], ten[300];
	const char *name = json_string_value(json_object_get(s, "name"));
	quarter_words(quarter, qzh, sizeof(qzh), qen, sizeof(qen));
	snprintf(tzh, sizeof(tzh), "%s %s培训质量", name ? name : "", qzh);
	snprintf(ten, sizeof(ten), "%s: training quality, %s", name ? name : "", qen);
	page_head(f, tzh, ten);
	fprintf(f, "<p><a href=\"quality-%s.html\">← 返回全部驾校</a> · 机构编号 ", quarter);
	html_text(f, json_string_value(json_object_get(s, "code")));
	fputs("</p>\n", f);
	heading(f, "now", "本季度", "This quarter");
	school_now(f, s);
	heading(f, "trend", "近五个季度", "The last five quarters");
	school_trend(f, s, quarter);
	heading(f, "means", "教练员、教练车和训练场", "Coaches, vehicles and grounds");
	school_means(f, s);
	heading(f, "findings", "监管发现", "Findings");
	school_findings(f, s);
	page_foot(f);
}

/* ---- the files ---- */

static FILE *open_page(const char *dir, char *path, size_t len, const char *fmt, ...)
{
	char name[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(path, len, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		fprintf(stderr, "hoursctl: report quarterly: cannot write %s: %s\n", path,
			strerror(errno));
	return f;
}

static bool close_page(FILE *f, const char *path, FILE *out)
{
	bool ok = !ferror(f);
	ok = fclose(f) == 0 && ok;
	if (!ok)
		fprintf(stderr, "hoursctl: report quarterly: writing %s failed\n", path);
	else if (out)
		fprintf(out, "wrote %s\n", path);
	return ok;
}

bool quality_pages_write(const json_t *doc, const char *dir, FILE *out)
{
	const char *quarter = json_string_value(json_object_get(doc, "quarter"));
	const json_t *schools = json_object_get(doc, "schools");
	size_t n = json_array_size(schools);
	char qzh[64], qen[32], path[4200];
	if (!quarter_words(quarter, qzh, sizeof(qzh), qen, sizeof(qen)))
		return false;
	json_t **order = calloc(n ? n : 1, sizeof(*order));
	if (order == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		order[i] = json_array_get(schools, i);
	qsort(order, n, sizeof(*order), rank_cmp);
	bool ok = true;
	FILE *f = open_page(dir, path, sizeof(path), "quality-%s.html", quarter);
	if (f) {
		write_index(f, order, n, quarter);
		ok = close_page(f, path, out);
	} else {
		ok = false;
	}
	size_t pages = 0;
	for (size_t i = 0; ok && i < n; i++) {
		const char *code = json_string_value(json_object_get(order[i], "code"));
		if (!code_ok(code))
			continue; /* listed on the index, without a page of its own */
		f = open_page(dir, path, sizeof(path), "quality-%s-%s.html", quarter, code);
		if (f == NULL) {
			ok = false;
			break;
		}
		write_school(f, order[i], quarter);
		ok = close_page(f, path, NULL);
		pages++;
	}
	if (ok && out)
		fprintf(out, "wrote %zu school page%s %s/quality-%s-CODE.html\n", pages,
			pages == 1 ? "" : "s", dir, quarter);
	free(order);
	return ok;
}
