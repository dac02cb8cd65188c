export * from './model-name';
export * from './store';
