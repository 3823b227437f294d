//===- Report.cpp - report.html from the tuning records -------------------===//
//
// Part of HAQA, under the Apache License v2.0 with LLVM Exceptions.
//
//===----------------------------------------------------------------------===//

#include "haqa/Agent/Report.h"
#include "haqa/Agent/Strategy.h"
#include "haqa/Support/Statistics.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace mlir::haqa;
using llvm::StringRef;

static std::string escape(StringRef s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

static double median(const std::vector<double> &v) {
  return v.empty() ? NAN : getMedianInterval(v).median;
}

namespace {
/// Best-so-far latency after each round of one (strategy, seed) run; NaN
/// until the first correct trial.
/// Best-so-far latency per round of one run, starting from the default
/// schedule's (when measured): a strategy's line never shows worse than
/// the default it starts from.
std::vector<double> bestSoFar(const std::vector<const StoredTrial *> &run,
                              double defaultMs) {
  std::vector<double> out;
  double best = defaultMs > 0 ? defaultMs : INFINITY;
  for (const StoredTrial *t : run) {
    if (t->trial.isOK())
      best = std::min(best, t->trial.latencyMs);
    out.push_back(std::isinf(best) ? NAN : best);
  }
  return out;
}

/// Best-so-far speedup over the default per round of one run of trials
/// paired with it, starting from the default's 1.
std::vector<double>
bestSpeedupSoFar(const std::vector<const StoredTrial *> &run) {
  std::vector<double> out;
  double best = 1;
  for (const StoredTrial *t : run) {
    if (t->trial.isOK() && t->trial.speedup > 0)
      best = std::max(best, t->trial.speedup);
    out.push_back(best);
  }
  return out;
}

const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                        "#9467bd", "#8c564b", "#e377c2", "#17becf"};
} // namespace

/// The convergence plot of one kernel: median over seeds of best-so-far.
/// `defaultMs`: where the default schedule's dashed line goes (0: none);
/// `axis`: the value axis's label.
static std::string convergenceSVG(
    const std::map<std::string, std::vector<std::vector<double>>> &curves,
    double defaultMs, StringRef axis) {
  const int w = 560, h = 300, left = 70, right = 150, top = 15, bottom = 40;
  size_t rounds = 0;
  double lo = INFINITY, hi = 0;
  std::map<std::string, std::vector<double>> med;
  for (const auto &[name, runs] : curves) {
    size_t n = 0;
    for (const auto &r : runs)
      n = std::max(n, r.size());
    std::vector<double> m;
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> at;
      for (const auto &r : runs)
        if (i < r.size() && !std::isnan(r[i]))
          at.push_back(r[i]);
        else if (i >= r.size() && !r.empty() && !std::isnan(r.back()))
          at.push_back(r.back());
      m.push_back(median(at));
      if (!std::isnan(m.back())) {
        lo = std::min(lo, m.back());
        hi = std::max(hi, m.back());
      }
    }
    rounds = std::max(rounds, n);
    med[name] = std::move(m);
  }
  if (defaultMs > 0) {
    lo = std::min(lo, defaultMs);
    hi = std::max(hi, defaultMs);
  }
  if (!(hi > 0) || rounds == 0)
    return "<p>(no correct trial to plot)</p>";
  if (hi - lo < 1e-12)
    hi = lo * 1.1 + 1e-9;
  double pad = (hi - lo) * 0.08;
  lo = std::max(0.0, lo - pad);
  hi += pad;
  auto X = [&](double r) {
    return left + (rounds > 1 ? (r - 1) / (rounds - 1) : 0.5) *
                      (w - left - right);
  };
  auto Y = [&](double v) {
    return top + (hi - v) / (hi - lo) * (h - top - bottom);
  };
  std::string s = llvm::formatv("<svg xmlns='http://www.w3.org/2000/svg' "
                                "width='{0}' height='{1}' font-size='11' "
                                "font-family='sans-serif'>",
                                w, h)
                      .str();
  s += llvm::formatv("<rect x='{0}' y='{1}' width='{2}' height='{3}' "
                     "fill='none' stroke='#999'/>",
                     left, top, w - left - right, h - top - bottom)
           .str();
  for (int i = 0; i <= 4; ++i) {
    double v = lo + (hi - lo) * i / 4;
    s += llvm::formatv("<text x='{0}' y='{1:F1}' text-anchor='end'>{2:G3}"
                       "</text><line x1='{3}' x2='{4}' y1='{1:F1}' y2='{1:F1}' "
                       "stroke='#eee'/>",
                       left - 4, Y(v) + 4, v, left, w - right)
             .str();
  }
  for (size_t r = 1; r <= rounds; ++r)
    s += llvm::formatv("<text x='{0:F1}' y='{1}' text-anchor='middle'>{2}"
                       "</text>",
                       X(r), h - bottom + 14, r)
             .str();
  s += llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle'>round"
                     "</text><text x='12' y='{2}' transform='rotate(-90 12 "
                     "{2})' text-anchor='middle'>{3}</text>",
                     (left + w - right) / 2, h - 6, (top + h - bottom) / 2,
                     escape(axis))
           .str();
  int legend = 0;
  if (defaultMs > 0) {
    s += llvm::formatv("<line x1='{0}' x2='{1}' y1='{2:F1}' y2='{2:F1}' "
                       "stroke='#555' stroke-dasharray='4 3'/>",
                       left, w - right, Y(defaultMs))
             .str();
    s += llvm::formatv("<line x1='{0}' x2='{1}' y1='{2}' y2='{2}' "
                       "stroke='#555' stroke-dasharray='4 3'/><text x='{3}' "
                       "y='{4}'>default schedule</text>",
                       w - right + 8, w - right + 28, top + 8, w - right + 32,
                       top + 12)
             .str();
    ++legend;
  }
  int ci = 0;
  for (const auto &[name, m] : med) {
    const char *c = colors[ci++ % 8];
    std::string pts;
    for (size_t i = 0; i < m.size(); ++i)
      if (!std::isnan(m[i]))
        pts += llvm::formatv("{0:F1},{1:F1} ", X(i + 1), Y(m[i])).str();
    s += llvm::formatv("<polyline fill='none' stroke='{0}' stroke-width='2' "
                       "points='{1}'/>",
                       c, pts)
             .str();
    int ly = top + 8 + 16 * legend++;
    s += llvm::formatv("<line x1='{0}' x2='{1}' y1='{2}' y2='{2}' "
                       "stroke='{3}' stroke-width='2'/><text x='{4}' "
                       "y='{5}'>{6} ({7} seed{8})</text>",
                       w - right + 8, w - right + 28, ly, c, w - right + 32,
                       ly + 4, escape(name), curves.at(name).size(),
                       curves.at(name).size() == 1 ? "" : "s")
             .str();
  }
  return s + "</svg>";
}

llvm::Error mlir::haqa::writeReport(StringRef path, const ReportInput &in) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(ec, "report %s: %s", path.str().c_str(),
                                   ec.message().c_str());
  os << "<!doctype html><html><head><meta charset='utf-8'><title>"
     << escape(in.title) << "</title><style>body{font-family:sans-serif;"
     << "margin:2em;max-width:1100px}table{border-collapse:collapse;"
     << "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
     << "text-align:right}td:first-child,th:first-child{text-align:left}"
     << "code{font-size:85%}</style></head><body>";
  os << "<h1>" << escape(in.title) << "</h1><p>target: "
     << escape(in.target) << "<br>compiler: " << escape(in.compilerVersion)
     << "</p>";

  // What was decided, first.
  if (!in.summary.empty()) {
    os << "<h2>Summary</h2><table>";
    for (const auto &[heading, text] : in.summary)
      os << "<tr><th style='text-align:left'>" << escape(heading)
         << "</th><td style='text-align:left'>" << escape(text) << "</td></tr>";
    os << "</table>";
  }

  // The per-kernel table: what was decided, the default's time and the
  // speedup's interval from the pairs that confirmed it.
  os << "<h2>Kernels: default against the decided schedule</h2><p>Speed-up: "
     << "the median of default / tuned over interleaved pairs, with its 95% "
     << "interval; a tuned schedule replaces the default only when the whole "
     << "interval lies above 1 (ties go to the default).</p><table><tr>"
     << "<th>kernel</th><th>default ms (IQR)</th><th>chosen ms</th>"
     << "<th>speed-up (95% interval)</th><th>decided</th><th>best by</th>"
     << "<th>trials</th><th>schedule</th></tr>";
  std::map<std::string, std::map<std::string, int>> failures;
  for (const ReportKernel &k : in.kernels) {
    double def = 0, defSpread = 0;
    std::vector<Trial> all;
    for (const StoredTrial &t : k.trials) {
      if (t.strategy == "default" && t.trial.isOK() && def == 0) {
        def = t.trial.latencyMs;
        defSpread = t.trial.spreadMs;
      }
      all.push_back(t.trial);
      std::string who = t.strategy;
      failures[who][Trial::getStatusName(t.trial.status).str()]++;
      if (StringRef(t.trial.proposedBy).ends_with(":fallback"))
        failures[who]["fallback"]++;
    }
    std::string chosen = "-", speedup = "-", decided = "-", by = "-",
                schedule = "(none correct)";
    if (const std::optional<StoredDecision> &d = k.decision) {
      bool tuned = d->source == "tuned";
      // The default's time in the pairs that decided (the baseline trial's
      // spread beside it).
      if (d->defaultMs > 0)
        def = d->defaultMs;
      chosen = llvm::formatv("{0:F4}", d->bestMs);
      speedup = tuned ? llvm::formatv("{0:F2}x ({1:F2}-{2:F2})", d->speedup,
                                      d->speedupLo, d->speedupHi)
                            .str()
                      : std::string("1.00x (the default)");
      decided = d->source;
      by = tuned ? d->strategy : std::string("-");
      schedule = d->schedule;
    } else if (const Trial *b = getBestTrial(all)) {
      // No decision recorded (an interrupted run): the best trial, as
      // measured.
      const StoredTrial &t = k.trials[b - all.data()];
      chosen = llvm::formatv("{0:F4}", b->latencyMs);
      speedup =
          b->speedup > 0 ? llvm::formatv("{0:F2}x ({1:F2}-{2:F2})", b->speedup,
                                         b->speedupLo, b->speedupHi)
                               .str()
          : def > 0
              ? llvm::formatv("{0:F2}x (unpaired)", def / b->latencyMs).str()
              : std::string("-");
      decided = "not yet";
      by = t.strategy;
      schedule = t.schedule;
    }
    os << "<tr><td>" << escape(k.label) << "</td><td>"
       << (def > 0 ? llvm::formatv("{0:F4} ({1:F4})", def, defSpread).str()
                   : "-")
       << "</td><td>" << chosen << "</td><td>" << speedup << "</td><td>"
       << escape(decided) << "</td><td>" << escape(by) << "</td><td>"
       << k.trials.size() << "</td><td><code>" << escape(schedule)
       << "</code></td></tr>";
  }
  os << "</table>";

  // Failure counts per strategy.
  os << "<h2>Trial outcomes per strategy</h2><table><tr><th>strategy</th>";
  const char *cols[] = {"ok",      "compile-error", "wrong-result", "crashed",
                        "timed-out", "invalid",     "fallback"};
  for (const char *c : cols)
    os << "<th>" << c << "</th>";
  os << "</tr>";
  for (auto &[who, counts] : failures) {
    os << "<tr><td>" << escape(who) << "</td>";
    for (const char *c : cols)
      os << "<td>" << counts[c] << "</td>";
    os << "</tr>";
  }
  os << "</table>";
  if (!in.llmSummaries.empty()) {
    os << "<h2>LLM agent replies</h2><table><tr><th>kernel</th>";
    const char *keys[] = {"requests", "usable",  "malformed", "out_of_range",
                          "off_task", "repeats", "reasks",    "fallbacks",
                          "endpoint_errors"};
    for (const char *k : keys)
      os << "<th>" << k << "</th>";
    os << "</tr>";
    for (const llvm::json::Object &o : in.llmSummaries) {
      os << "<tr><td>" << escape(o.getString("kernel").value_or("?"))
         << "</td>";
      for (const char *k : keys)
        os << "<td>" << o.getInteger(k).value_or(0) << "</td>";
      os << "</tr>";
    }
    os << "</table>";
  }

  // Convergence per kernel: the speedup over the default where the trials
  // were paired with it (times taken minutes apart on a shared machine are
  // not comparable), else latency.
  os << "<h2>Convergence</h2><p>Best speedup over the default schedule "
     << "reached after each round (trials timed in pairs with the default; "
     << "best latency for records without pairs); one line per strategy "
     << "(median over its seeds); dashed: the compiler's default schedule."
     << "</p>";
  for (const ReportKernel &k : in.kernels) {
    std::map<std::string, std::map<uint64_t, std::vector<const StoredTrial *>>>
        runs;
    double def = 0;
    bool paired = true;
    for (const StoredTrial &t : k.trials) {
      if (t.strategy == "default") {
        if (t.trial.isOK() && def == 0)
          def = t.trial.latencyMs;
        continue;
      }
      paired &= !t.trial.isOK() || t.trial.speedup > 0;
      runs[t.strategy][t.seed].push_back(&t);
    }
    std::map<std::string, std::vector<std::vector<double>>> curves;
    for (auto &[name, seeds] : runs)
      for (auto &[seed, run] : seeds)
        curves[name].push_back(paired ? bestSpeedupSoFar(run)
                                      : bestSoFar(run, def));
    os << "<h3>" << escape(k.label) << "</h3>"
       << (paired ? convergenceSVG(curves, 1.0,
                                   "best speedup over the default so far (x)")
                  : convergenceSVG(curves, def, "best latency so far (ms)"));
  }
  os << "</body></html>\n";
  os.close();
  if (os.has_error()) {
    std::error_code ec = os.error();
    os.clear_error(); // or the stream's destructor aborts
    return llvm::createStringError(ec, "report %s: write failed: %s",
                                   path.str().c_str(), ec.message().c_str());
  }
  return llvm::Error::success();
}
