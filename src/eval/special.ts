/**
 * Special functions for p-values: the complementary error function, the standard normal distribution and the
 * binomial tail. Accurate to about 1e-15 relative error, enough to report p-values well below 1e-10.
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Computes erfc(x): a Taylor series of erf for |x| < 2, a continued fraction (modified Lentz) beyond. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n += 1) {
      term *= (-x * x) / n;
      const contribution = term / (2 * n + 1);
      sum += contribution;
      if (Math.abs(contribution) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - TWO_OVER_SQRT_PI * sum;
  }
  if (x > 27) return 0;
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n += 1) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** Returns P(Z <= z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Returns the two-sided p-value of a standard normal statistic, P(|Z| >= |z|). */
export function normalTwoSidedP(z: number): number {
  return erfc(Math.abs(z) / Math.SQRT2);
}

/** Returns P(X >= statistic) for a chi-square variable X with one degree of freedom. */
export function chiSquare1Survival(statistic: number): number {
  if (statistic <= 0) return 1;
  return erfc(Math.sqrt(statistic / 2));
}

/** Returns P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so that large n do not underflow early. */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let logCoefficient = 0; // log C(n, 0)
  let sum = 0;
  for (let i = 0; i <= k; i += 1) {
    if (i > 0) logCoefficient += Math.log(n - i + 1) - Math.log(i);
    sum += Math.exp(logCoefficient - n * Math.LN2);
  }
  return Math.min(1, sum);
}

/** The 97.5th percentile of the standard normal distribution, for 95% two-sided intervals. */
export const Z_975 = 1.959963984540054;
