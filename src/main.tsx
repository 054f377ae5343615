import { start } from './app/main';

const root = document.getElementById('root');
if (root) start(root);
