// The README's first example, runnable from a clone: node examples/readme.js
const torch = require('..');

const x = torch.tensor([[1, 2], [3, 4]], { dtype: 'float32', requiresGrad: true });
const y = x.mul(x).sum();
y.backward();
console.log(String(y));
console.log(String(x.grad));
