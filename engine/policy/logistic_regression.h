// Multinomial logistic regression with an L2 penalty, fitted by full-batch
// L-BFGS in double precision: deterministic (no sampling, fixed order), so a
// head trained twice on the same data is the same head.
#ifndef ATTNSERVE_ENGINE_POLICY_LOGISTIC_REGRESSION_H_
#define ATTNSERVE_ENGINE_POLICY_LOGISTIC_REGRESSION_H_

#include <vector>

namespace attnserve {

struct LogisticRegressionOptions {
  // Inverse regularisation strength, as in scikit-learn: minimises
  // C * sum(loss) + ||W||^2 / 2 (the bias is not penalised).
  double c = 1.0;
  int max_iterations = 500;
  double gradient_tolerance = 1e-6;  // on the max-norm of the mean-loss gradient
  int memory = 10;                   // L-BFGS history pairs
};

struct LogisticModel {
  int num_classes = 0;
  int dim = 0;
  std::vector<double> weights;  // [num_classes, dim]
  std::vector<double> bias;     // [num_classes]
  int iterations = 0;
  double objective = 0;  // mean loss + ||W||^2 / (2 C n)

  // Softmax probabilities of row `x` [dim].
  std::vector<double> Probabilities(const float* x) const;
  int Predict(const float* x) const;
};

// Fits on `x` [n, dim] with labels `y` in [0, num_classes).
LogisticModel FitLogisticRegression(const std::vector<float>& x, int dim, const std::vector<int>& y,
                                    int num_classes, const LogisticRegressionOptions& options);

// Share of rows of `x` [n, dim] predicted as `y`.
double Accuracy(const LogisticModel& model, const std::vector<float>& x, const std::vector<int>& y);

}  // namespace attnserve

#endif  // ATTNSERVE_ENGINE_POLICY_LOGISTIC_REGRESSION_H_
