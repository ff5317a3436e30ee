// expect: infra-no-siblings
export { store } from '../store/index.js';
