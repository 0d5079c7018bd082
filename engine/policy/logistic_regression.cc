#include "engine/policy/logistic_regression.h"

#include <algorithm>
#include <cmath>
#include <deque>

namespace attnserve {
namespace {

// Parameters: weights [K, D] then bias [K].
struct Problem {
  const std::vector<float>& x;
  const std::vector<int>& y;
  int n, dim, k;
  double lambda;  // = 1 / (C n): penalty of the mean-loss form

  // Objective and gradient at `theta`.
  double Evaluate(const std::vector<double>& theta, std::vector<double>* grad) const {
    grad->assign(theta.size(), 0.0);
    const double* w = theta.data();
    const double* b = theta.data() + static_cast<size_t>(k) * dim;
    double* gw = grad->data();
    double* gb = grad->data() + static_cast<size_t>(k) * dim;
    std::vector<double> z(k);
    double loss = 0;
    for (int i = 0; i < n; ++i) {
      const float* xi = x.data() + static_cast<size_t>(i) * dim;
      double top = -INFINITY;
      for (int c = 0; c < k; ++c) {
        double s = b[c];
        const double* wc = w + static_cast<size_t>(c) * dim;
        for (int j = 0; j < dim; ++j) s += wc[j] * xi[j];
        z[c] = s;
        top = std::max(top, s);
      }
      double total = 0;
      for (int c = 0; c < k; ++c) total += std::exp(z[c] - top);
      const double log_total = top + std::log(total);
      loss += log_total - z[y[i]];
      for (int c = 0; c < k; ++c) {
        const double r = std::exp(z[c] - log_total) - (c == y[i] ? 1.0 : 0.0);
        double* gc = gw + static_cast<size_t>(c) * dim;
        for (int j = 0; j < dim; ++j) gc[j] += r * xi[j];
        gb[c] += r;
      }
    }
    double penalty = 0;
    for (size_t p = 0; p < static_cast<size_t>(k) * dim; ++p) {
      penalty += theta[p] * theta[p];
      (*grad)[p] = (*grad)[p] / n + lambda * theta[p];
    }
    for (int c = 0; c < k; ++c) gb[c] /= n;
    return loss / n + 0.5 * lambda * penalty;
  }
};

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double MaxAbs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace

std::vector<double> LogisticModel::Probabilities(const float* x) const {
  std::vector<double> z(num_classes);
  double top = -INFINITY;
  for (int c = 0; c < num_classes; ++c) {
    double s = bias[c];
    for (int j = 0; j < dim; ++j) s += weights[static_cast<size_t>(c) * dim + j] * x[j];
    z[c] = s;
    top = std::max(top, s);
  }
  double total = 0;
  for (double& v : z) total += (v = std::exp(v - top));
  for (double& v : z) v /= total;
  return z;
}

int LogisticModel::Predict(const float* x) const {
  const std::vector<double> p = Probabilities(x);
  return static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
}

LogisticModel FitLogisticRegression(const std::vector<float>& x, int dim, const std::vector<int>& y,
                                    int num_classes, const LogisticRegressionOptions& options) {
  const int n = static_cast<int>(y.size());
  Problem problem{x, y, n, dim, num_classes, 1.0 / (options.c * std::max(n, 1))};
  const size_t size = static_cast<size_t>(num_classes) * (dim + 1);
  std::vector<double> theta(size, 0.0), grad, next(size), next_grad;
  double f = problem.Evaluate(theta, &grad);
  std::deque<std::vector<double>> s_hist, y_hist;
  std::deque<double> rho_hist;
  int iter = 0;
  for (; iter < options.max_iterations && MaxAbs(grad) > options.gradient_tolerance; ++iter) {
    // Two-loop recursion: direction = -H * grad.
    std::vector<double> q = grad;
    std::vector<double> alpha(s_hist.size());
    for (int m = static_cast<int>(s_hist.size()) - 1; m >= 0; --m) {
      alpha[m] = rho_hist[m] * Dot(s_hist[m], q);
      for (size_t i = 0; i < size; ++i) q[i] -= alpha[m] * y_hist[m][i];
    }
    const double gamma =
        s_hist.empty() ? 1.0
                       : Dot(s_hist.back(), y_hist.back()) / Dot(y_hist.back(), y_hist.back());
    for (double& v : q) v *= gamma;
    for (size_t m = 0; m < s_hist.size(); ++m) {
      const double beta = rho_hist[m] * Dot(y_hist[m], q);
      for (size_t i = 0; i < size; ++i) q[i] += s_hist[m][i] * (alpha[m] - beta);
    }
    double slope = -Dot(grad, q);
    if (slope >= 0) {  // not a descent direction: restart from steepest descent
      q = grad;
      slope = -Dot(grad, grad);
      s_hist.clear();
      y_hist.clear();
      rho_hist.clear();
    }
    // Backtracking (Armijo) line search.
    double step = 1.0, f_next = f;
    for (int tries = 0; tries < 40; ++tries, step *= 0.5) {
      for (size_t i = 0; i < size; ++i) next[i] = theta[i] - step * q[i];
      f_next = problem.Evaluate(next, &next_grad);
      if (f_next <= f + 1e-4 * step * slope) break;
    }
    if (!(f_next < f)) break;  // no further progress in double precision
    std::vector<double> s(size), yv(size);
    for (size_t i = 0; i < size; ++i) {
      s[i] = next[i] - theta[i];
      yv[i] = next_grad[i] - grad[i];
    }
    const double sy = Dot(s, yv);
    if (sy > 1e-12) {
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(yv));
      rho_hist.push_back(1.0 / sy);
      if (static_cast<int>(s_hist.size()) > options.memory) {
        s_hist.pop_front();
        y_hist.pop_front();
        rho_hist.pop_front();
      }
    }
    theta.swap(next);
    grad.swap(next_grad);
    f = f_next;
  }
  LogisticModel model;
  model.num_classes = num_classes;
  model.dim = dim;
  model.weights.assign(theta.begin(), theta.begin() + static_cast<size_t>(num_classes) * dim);
  model.bias.assign(theta.begin() + static_cast<size_t>(num_classes) * dim, theta.end());
  model.iterations = iter;
  model.objective = f;
  return model;
}

double Accuracy(const LogisticModel& model, const std::vector<float>& x,
                const std::vector<int>& y) {
  if (y.empty()) return 0;
  int right = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    right += model.Predict(x.data() + i * model.dim) == y[i] ? 1 : 0;
  }
  return static_cast<double>(right) / static_cast<double>(y.size());
}

}  // namespace attnserve
