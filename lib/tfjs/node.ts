/**
 * `tf.node`: tfjs-node's namespace of Node-only functions (tfjs-node/src/node.ts), so a program
 * written for `@tensorflow/tfjs-node` finds every member where it looks for it.
 *
 * - Images: decodeImage, decodeJpeg, decodePng, decodeBmp, decodeGif, encodeJpeg, encodePng
 *   (lib/tfjs/node-image.ts, on jpeg-js, pngjs and gifuct-js), with tfjs-node's signatures,
 *   defaults, shapes, dtypes and error messages. getImageType and ImageType come along (tfjs-node
 *   keeps them in its image module).
 * - SavedModels: loadSavedModel needs TensorFlow itself (tfjs-node runs the model's TensorFlow graph
 *   in libtensorflow). It rejects with an error that says so and how to get a model this backend
 *   runs (the tfjs converter, then tf.loadGraphModel); so does getMetaGraphsFromSavedModel, whose
 *   only use is choosing what loadSavedModel loads. getNumOfSavedModels answers 0: no SavedModel
 *   is ever loaded here.
 * - TensorBoard: summaryFileWriter and tensorBoard (lib/tfjs/node-tensorboard.ts, on torchrnn's
 *   own event-file writer, lib/tensorboard/).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { decodeBmp, decodeGif, decodeImage, decodeJpeg, decodePng, encodeJpeg, encodePng, getImageType, ImageType } from './node-image';
import { summaryFileWriter, tensorBoard } from './node-tensorboard';

export { decodeBmp, decodeGif, decodeImage, decodeJpeg, decodePng, encodeJpeg, encodePng, getImageType, ImageType };

const CONVERT = 'Convert it once with the TensorFlow.js converter (pip install tensorflowjs; '
  + 'tensorflowjs_converter --input_format=tf_saved_model --signature_name=serving_default SAVED_MODEL_DIR WEB_MODEL_DIR) '
  + "and load the result with tf.loadGraphModel('file://WEB_MODEL_DIR/model.json'), which runs on this backend.";

/** The error of the SavedModel functions: a SavedModel runs on TensorFlow's runtime only. */
function needsTensorFlow(what: string): Error {
  const err = new Error(`${what} is not available in torchrnn/tfjs: TensorFlow SavedModels run in TensorFlow itself `
    + `(@tensorflow/tfjs-node runs them in libtensorflow), and torchrnn/tfjs runs TensorFlow.js models on libtorch. ${CONVERT}`);
  (err as Error & { code: string }).code = 'ERR_UNSUPPORTED';
  return err;
}

/**
 * tfjs-node's handle of a loaded SavedModel. None can be loaded here (see loadSavedModel): the
 * class exists for programs that name it, and constructing it throws.
 */
export class TFSavedModel implements tf.InferenceModel {
  constructor() {
    throw needsTensorFlow('TFSavedModel');
  }
  get inputs(): tf.ModelTensorInfo[] { throw needsTensorFlow('TFSavedModel'); }
  get outputs(): tf.ModelTensorInfo[] { throw needsTensorFlow('TFSavedModel'); }
  predict(): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap { throw needsTensorFlow('TFSavedModel.predict'); }
  execute(): tf.Tensor | tf.Tensor[] { throw needsTensorFlow('TFSavedModel.execute'); }
  dispose(): void { throw needsTensorFlow('TFSavedModel.dispose'); }
}

/** tfjs-node: loads a TensorFlow SavedModel to run it. Rejects here: see the message for what to use. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars
export async function loadSavedModel(path: string, tags: string[] = ['serve'], signature = 'serving_default'): Promise<TFSavedModel> {
  throw needsTensorFlow('tf.node.loadSavedModel');
}

/** tfjs-node: the MetaGraphs (tags and signatures) of a SavedModel. Rejects here: see the message. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars
export async function getMetaGraphsFromSavedModel(path: string): Promise<tf.MetaGraph[]> {
  throw needsTensorFlow('tf.node.getMetaGraphsFromSavedModel');
}

/** tfjs-node: how many SavedModels are loaded. Always 0 here, where none can be. */
export function getNumOfSavedModels(): number {
  return 0;
}

/** The `tf.node` namespace, which lib/tfjs/index.ts exports. */
export const node = {
  decodeImage,
  decodeBmp,
  decodeGif,
  decodePng,
  decodeJpeg,
  encodeJpeg,
  encodePng,
  getImageType,
  ImageType,
  getMetaGraphsFromSavedModel,
  getNumOfSavedModels,
  loadSavedModel,
  summaryFileWriter,
  tensorBoard,
};
