// The README's module example: node examples/classifier.js
const torch = require('..');
const { nn } = torch;

class Classifier extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 8, hiddenSize: 32, numLayers: 2, batchFirst: true, dropout: 0.1 });
  head = new nn.Linear(32, 3);
  forward(x, lengths) {
    const [out, [h]] = this.lstm.forward(x, { lengths });
    return this.head.forward(h.select(0, -1));
  }
}
torch.manualSeed(0);
const model = new Classifier();
const x = torch.randn([4, 10, 8]);
const logits = model.forward(x, [10, 7, 3, 9]);
logits.logSoftmax(-1).mean().neg().backward();
console.log(logits.shape, Object.keys(model.stateDict()).slice(0, 2));
