// Shared console components: import from './ui/index.js' in a page.
export { ConfirmDialog } from './ConfirmDialog.js';
export { DataTable, type Column } from './DataTable.js';
export { ErrorBanner, InfoBanner } from './ErrorBanner.js';
export { Field } from './Field.js';
export { SearchBox } from './SearchBox.js';
export { SecretBox } from './SecretBox.js';
export { CheckField } from './CheckField.js';
export { GrantsPanel } from './GrantsPanel.js';
export { PrincipalPicker, type Principal } from './PrincipalPicker.js';
export { SelectField } from './SelectField.js';
export { useConfirm, type Ask, type ConfirmRequest } from './useConfirm.js';
export { Checks } from './Checks.js';
export { FieldSet, InputField, TextAreaField } from './FormControls.js';
export { HourlyChart, type Series } from './HourlyChart.js';
