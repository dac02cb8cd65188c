import { useId, useRef, useState, type FormEvent } from 'react';
import type { ApiResult } from '../../../shared/result';

/**
 * Submit handling shared by forms that call one API channel: a busy flag, the API's error message
 * shown inline, and focus moved back to the first input when the call fails.
 */
export function useApiForm<T>(action: () => Promise<ApiResult<T>>, onSuccess: (value: T) => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const firstInput = useRef<HTMLInputElement>(null);
  const errorId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const result = await action();
    setBusy(false);
    if (result.ok) {
      onSuccess(result.value);
      return;
    }
    setError(result.error.message);
    firstInput.current?.focus();
  };

  return { error, busy, submit, firstInput, errorId };
}
