export * from './java-shell-runtime-layer';
export * from './shell-function';
