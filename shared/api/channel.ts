import type { z } from 'zod';

/** A channel's argument schema (validated in main) and, as a phantom type, its result. */
export type ChannelSpec<Input extends z.ZodType = z.ZodType, Output = unknown> = {
  input: Input;
  /** Never read at run time; carries the result type to the client. */
  output?: Output;
};

export function channel<Input extends z.ZodType>(input: Input) {
  return <Output>(): ChannelSpec<Input, Output> => ({ input });
}
